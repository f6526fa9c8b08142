"""Admin for knowledge articles: read-only, as the desk's access rules give admins (tickets.policies:
agents and supervisors write the library through its pages and API, where the services keep
`search_text` in step with the text).

Not imported by tickets/admin.py yet: registering needs this line at the end of tickets/admin.py
(as for the SLA admin): `from .knowledge import admin as knowledge_admin  # noqa: E402,F401`
"""

from django.contrib import admin

from aftersales.admin import ViewOnlyAdmin

from .models import KnowledgeArticle


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(ViewOnlyAdmin):
    list_display = ["title", "language", "category", "ticket_type", "is_faq", "status", "author", "updated_at"]
    list_filter = ["status", "language", "is_faq", "category", "ticket_type"]
    search_fields = ["title", "body"]
    list_select_related = ["author"]
    readonly_fields = ["search_text"]
