"""Supervisor pages for incidents (批量问题) and the shipping watch: list, confirm, act in bulk."""

from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from orders.models import Product
from orders.selectors import orders_logistics_stalled, orders_shipping_overdue

from ..models import Incident, ReplyTemplate
from ..notes import note
from ..policies import can_watch_shipping, desk_required, ensure_incident_manager, incident_get_for_user
from ..selectors import ticket_list
from . import services as incidents
from .watch import orders_inform

PAGE_ORDERS = 50  # affected and excluded orders listed on the page; the counts cover them all


class ConfirmIncidentForm(forms.Form):
    agreed_reply = forms.CharField(label=gettext_lazy("Agreed reply (统一口径); placeholders allowed"),
                                   widget=forms.Textarea(attrs={"rows": 4}))
    plan = forms.CharField(label=gettext_lazy("Plan"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


def _moment_input():
    # Seconds kept (step=1): saving the form unchanged must not move the range's ends.
    return forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S")


class IncidentScopeForm(forms.Form):
    affected_from = forms.DateTimeField(label=gettext_lazy("Affected orders from"), widget=_moment_input())
    affected_to = forms.DateTimeField(label=gettext_lazy("Affected orders to"), widget=_moment_input())
    affected_order_time = forms.ChoiceField(label=gettext_lazy("Match orders by"),
                                            choices=Incident.OrderTime.choices)


class IncidentEditForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    product = forms.ModelChoiceField(label=gettext_lazy("Product"), queryset=Product.objects.none(), required=False)

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, **kwargs)
        # The products of the member tickets' affected items, and the incident's own.
        self.fields["product"].queryset = Product.objects.filter(
            Q(order_items__tickets__incidents=incident) | Q(pk=incident.product_id)).distinct().order_by("sku")


def incident_why(incident: Incident) -> dict:
    """Why the incident was suggested, from its evidence, for its page (times parsed back)."""
    evidence = incident.evidence or {}
    periods = [{**p, "from": datetime.fromisoformat(p["from"]), "to": datetime.fromisoformat(p["to"])}
               for p in evidence.get("periods", [])]
    return {**evidence, "periods": periods}


def _supervisor_only(request):
    if not can_watch_shipping(request.user):
        raise PermissionDenied


def _order_ids(request) -> list[int]:
    try:
        return [int(v) for v in request.POST.getlist("orders")]
    except ValueError:
        return []


@desk_required
def incident_list(request):
    ensure_incident_manager(request.user)
    rows = Incident.objects.select_related("product").order_by("-created_at")[:100]
    return render(request, "tickets/incidents.html",
                  {"incidents": rows, "trend_days": settings.INCIDENT_TREND_DAYS})


@desk_required
def incident_detail(request, pk):
    incident = incident_get_for_user(user=request.user, incident_id=pk)
    start, end = incident.affected_range
    return render(request, "tickets/incident.html", {
        "incident": incident,
        "members": list(ticket_list(incident.tickets.all()).order_by("-created_at")),
        "preview": incidents.incident_preview(incident=incident),
        "unreached": list(incidents.incident_unreached_orders(incident=incident)[:PAGE_ORDERS]),
        "excluded": list(incidents.incident_excluded_orders(incident)[:PAGE_ORDERS]),
        "form": ConfirmIncidentForm(initial={"agreed_reply": incident.agreed_reply, "plan": incident.plan}),
        "why": incident_why(incident),
        "edit_form": IncidentEditForm(incident=incident, initial={"title": incident.title,
                                                                  "product": incident.product_id}),
        "scope_form": IncidentScopeForm(initial={
            "affected_from": start, "affected_to": end, "affected_order_time": incident.affected_order_time}),
    })


def _bulk(request, action, incident):
    run = {
        "reply": lambda: incidents.incident_reply_all(incident=incident, actor=request.user),
        "resolve": lambda: incidents.incident_resolve_all(
            incident=incident, actor=request.user, reason=note("Resolved with the incident's plan.")),
        "proactive": lambda: incidents.incident_open_proactive(
            incident=incident, actor=request.user, site=request.build_absolute_uri("/")),
    }[action]
    report = run()
    messages.success(request, _("%(done)d done, %(skipped)d already done before, %(refused)d refused.")
                     % {"done": len(report.done), "skipped": len(report.skipped), "refused": len(report.refused)})
    for object_id, why in list(report.refused.items())[:20]:
        messages.error(request, f"#{object_id}: {why}")
    if action == "resolve" and report.refused:
        messages.warning(request, _("The incident stays confirmed until every member ticket can be resolved."))


@require_POST
@desk_required
def incident_act(request, pk):
    incident = incident_get_for_user(user=request.user, incident_id=pk)
    action = request.POST.get("action")
    try:
        if action == "confirm":
            form = ConfirmIncidentForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Write the agreed reply every customer will get."))
            incidents.incident_confirm(incident=incident, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Incident confirmed."))
        elif action == "edit":
            form = IncidentEditForm(request.POST, incident=incident)
            if not form.is_valid():
                raise ValidationError([m for errors in form.errors.values() for m in errors])
            incidents.incident_edit(incident=incident, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Incident updated."))
        elif action == "scope":
            form = IncidentScopeForm(request.POST)
            if not form.is_valid():
                raise ValidationError([m for errors in form.errors.values() for m in errors])
            incidents.incident_set_scope(incident=incident, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Affected orders updated: check the counts before sending."))
        elif action in ("exclude", "include"):
            incidents.incident_update_exclusions(incident=incident, actor=request.user,
                                                 **{action: _order_ids(request)})
            messages.success(request, _("Exclusions updated."))
        elif action in ("reply", "resolve", "proactive"):
            _bulk(request, action, incident)
        else:
            messages.error(request, _("Unknown action."))
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    return redirect("tickets:incident", pk=pk)


# Shipping watch ------------------------------------------------------------------------------------

WATCH_LIMIT = 200


@desk_required
def shipping_watch(request):
    _supervisor_only(request)
    return render(request, "tickets/watch.html", {
        "overdue": orders_shipping_overdue()[:WATCH_LIMIT],
        "stalled": orders_logistics_stalled(hours=settings.LOGISTICS_STALL_HOURS)[:WATCH_LIMIT],
        "templates": ReplyTemplate.objects.filter(is_active=True, language=request.LANGUAGE_CODE),
        "stall_hours": settings.LOGISTICS_STALL_HOURS,
    })


@require_POST
@desk_required
def shipping_inform(request):
    _supervisor_only(request)
    template = ReplyTemplate.objects.filter(pk=request.POST.get("template"), is_active=True).first()
    try:
        order_ids = [int(v) for v in request.POST.getlist("orders")]
    except ValueError:
        order_ids = []
    if template is None or not order_ids:
        messages.error(request, _("Choose orders and a reply template."))
        return redirect("tickets:watch")
    try:
        report = orders_inform(order_ids=order_ids, actor=request.user, template=template,
                               reason=note("Proactive contact: shipping is late or the parcel is stalled."))
        messages.success(request, _("%(done)d customers informed, %(refused)d skipped.")
                         % {"done": len(report.done), "refused": len(report.refused)})
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    return redirect("tickets:watch")
