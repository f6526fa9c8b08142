"""Supervisor pages for incidents (批量问题) and the shipping watch: list, confirm, act in bulk."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from orders.selectors import orders_logistics_stalled, orders_shipping_overdue

from . import incidents
from .models import Incident, ReplyTemplate
from .policies import is_supervisor
from .selectors import ticket_list
from .views import desk_required
from .watch import orders_inform


class ConfirmIncidentForm(forms.Form):
    agreed_reply = forms.CharField(label=gettext_lazy("Agreed reply (统一口径); placeholders allowed"),
                                   widget=forms.Textarea(attrs={"rows": 4}))
    plan = forms.CharField(label=gettext_lazy("Plan"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


def _supervisor_only(request):
    if not is_supervisor(request.user):
        raise PermissionDenied


@desk_required
def incident_list(request):
    _supervisor_only(request)
    rows = Incident.objects.select_related("product").order_by("-created_at")[:100]
    return render(request, "tickets/incidents.html", {"incidents": rows})


@desk_required
def incident_detail(request, pk):
    _supervisor_only(request)
    incident = get_object_or_404(Incident.objects.select_related("product"), pk=pk)
    members = ticket_list(incident.tickets.all()).order_by("-created_at")
    unreached = list(incidents.incident_unreached_orders(incident=incident)[:50]) if incident.product_id else []
    form = ConfirmIncidentForm(initial={"agreed_reply": incident.agreed_reply, "plan": incident.plan})
    return render(request, "tickets/incident.html", {
        "incident": incident, "members": members, "unreached": unreached, "form": form,
    })


@require_POST
@desk_required
def incident_act(request, pk):
    _supervisor_only(request)
    incident = get_object_or_404(Incident, pk=pk)
    action = request.POST.get("action")
    try:
        if action == "confirm":
            form = ConfirmIncidentForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Write the agreed reply every customer will get."))
            incidents.incident_confirm(incident=incident, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Incident confirmed."))
        elif action in ("reply", "resolve", "proactive"):
            run = {
                "reply": lambda: incidents.incident_reply_all(incident=incident, actor=request.user),
                "resolve": lambda: incidents.incident_resolve_all(
                    incident=incident, actor=request.user, reason=_("Resolved with the incident's plan.")),
                "proactive": lambda: incidents.incident_open_proactive(incident=incident, actor=request.user),
            }[action]
            report = run()
            messages.success(request, _("%(done)d tickets done, %(refused)d refused.")
                             % {"done": len(report.done), "refused": len(report.refused)})
            for ticket_id, why in list(report.refused.items())[:20]:
                messages.error(request, f"#{ticket_id}: {why}")
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
                               reason=_("Proactive contact: shipping is late or the parcel is stalled."))
        messages.success(request, _("%(done)d customers informed, %(refused)d skipped.")
                         % {"done": len(report.done), "refused": len(report.refused)})
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    return redirect("tickets:watch")
