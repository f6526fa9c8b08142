from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..models import Department, Subtask


class Macro(models.Model):
    """A supervisor's canned handling of a common case, applied by an agent in one click: a reply (with the
    reply templates' placeholders), tags, a status action and a department subtask, all or nothing."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    body = models.TextField(_("reply"), blank=True,
                            help_text=_("Placeholders: {customer_name} {order_number} {ticket_number} "
                                        "{agent_name} {product}"))
    # One of tickets.workflow.MANUAL_ACTIONS; whether it is allowed is decided when the macro is applied.
    action = models.CharField(_("status action"), max_length=30, blank=True)
    tags = models.CharField(_("tags to add"), max_length=300, blank=True, help_text=_("Separated by commas."))
    subtask_department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="+", verbose_name=_("subtask department"))
    subtask_kind = models.CharField(_("subtask kind"), max_length=20, choices=Subtask.Kind.choices, blank=True)
    subtask_description = models.TextField(_("subtask description"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def tag_names(self) -> list[str]:
        return [name.strip() for name in self.tags.split(",") if name.strip()]

    @property
    def has_subtask(self) -> bool:
        return self.subtask_department_id is not None


class SavedView(models.Model):
    """A queue tab with its filters, sort and search, saved under a name: the agent's own, or shared with
    everyone by a supervisor. `query` is the normalised query string (tickets.expert.forms checks it
    against the queue's filter)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views",
                              verbose_name=_("owner"))
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("query"), max_length=1000, blank=True)
    shared = models.BooleanField(_("shared with everyone"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["-shared", "name", "pk"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_view_owner_name_uniq")]

    def __str__(self):
        return self.name
