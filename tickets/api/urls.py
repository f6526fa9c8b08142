from django.http import JsonResponse
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework.routers import DefaultRouter

from ..knowledge.api import KnowledgeArticleViewSet
from ..reports.api import ReportView
from .customers import CustomerViewSet
from .inbound_mail import InboundMailView
from .intake import IntakeReceiptView, IntakeView
from .notifications import NotificationViewSet
from .orders import OrderViewSet
from .people import SubtaskViewSet
from .playbook import ApprovalViewSet, IncidentViewSet
from .views import TicketViewSet


@csrf_exempt  # a POST to an unknown path is a 404 too, not a CSRF page: it changes nothing
def api_not_found(request, *args, **kwargs):
    return JsonResponse({"detail": _("Not found."), "code": "not_found"}, status=404)


class NumericIdRouter(DefaultRouter):
    """Every object is addressed by its numeric id; anything else falls through to the JSON 404."""

    # No `.json` twin of each route: the custom actions take no `format` argument, so every
    # /tickets/1/take.json answered 500 (found by tests/test_route_access.py). JSON is the default.
    include_format_suffixes = False

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        return f"(?P<{lookup_prefix}{viewset.lookup_url_kwarg or viewset.lookup_field}>[0-9]+)"


router = NumericIdRouter()
router.register("tickets", TicketViewSet, basename="ticket")
router.register("subtasks", SubtaskViewSet, basename="subtask")
router.register("customers", CustomerViewSet, basename="customer")
router.register("orders", OrderViewSet, basename="order")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("articles", KnowledgeArticleViewSet, basename="article")

urlpatterns = [
    path("intake/", IntakeView.as_view(), name="intake"),
    path("intake/<uuid:receipt>/", IntakeReceiptView.as_view(), name="intake-receipt"),
    path("inbound-mail/", InboundMailView.as_view(), name="inbound-mail"),
    path("reports/<slug:name>/", ReportView.as_view(), name="report"),
    *router.urls,
    re_path(r"^[\s\S]*$", api_not_found),  # JSON, not Django's HTML page, for any unknown API path
]
