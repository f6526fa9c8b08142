"""The department inbox: a department's subtasks, one subtask's page, its goods and its moves; and
everyone's notifications."""


from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.web import attempt, redirect_next, with_version
from orders.models import ReturnShipment

from .. import subtasks
from ..forms import (
    SubtaskActionForm,
)
from ..live import desk_stamp, ticket_stamp_for, ticket_stamps
from ..models import Notification, Subtask, Ticket
from ..notification_text import NOTIFICATION_RELATED, notification_sentence
from ..notifications import notification_mark_read
from ..playbook import services as playbook
from ..policies import (
    can_edit_ticket,
    can_work_subtask,
    department_id_of,
    desk_required,
    is_department_staff,
    sees_unmasked_pii,
    subtask_get_for_user,
    subtasks_visible_to,
    ticket_contact_for,
)
from ..pricediff.selectors import pricediff_batch_of_ticket
from ..selectors import (
    subtask_list,
)
from ..workflow import StaleVersion, TransitionRefused

PAGE_SIZE = 50


@desk_required
def inbox(request):
    """My department's subtasks: open, mine, overdue."""
    stamp = desk_stamp()  # before the counts and rows (tickets/live.py)
    view = request.GET.get("view", "open")
    queryset = subtask_list(subtasks_visible_to(request.user))
    department_id = department_id_of(request.user)
    if is_department_staff(request.user) and department_id:
        queryset = queryset.filter(department_id=department_id)
    active = queryset.filter(status__in=Subtask.ACTIVE_STATUSES)
    views = {
        "open": active,
        "mine": active.filter(assignee=request.user),
        "overdue": active.filter(due_at__lt=timezone.now()),
        "done": queryset.exclude(status__in=Subtask.ACTIVE_STATUSES),
    }
    counts = {name: qs.count() for name, qs in views.items() if name != "done"}
    chosen = views.get(view, active).order_by("due_at", "id")
    page = Paginator(chosen, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tickets/inbox.html", {"page": page, "view": view, "counts": counts,
                                                  "live": {"stamp": stamp, "page": request.get_full_path()},
                                                  "show_pii": sees_unmasked_pii(request.user)})


@desk_required
def subtask_detail(request, pk):
    stamps = ticket_stamps(Ticket.objects.filter(subtasks__pk=pk))  # before what the page shows is read
    subtask = subtask_get_for_user(user=request.user, subtask_id=pk)
    return _subtask_page(request, subtask, stamp=stamps.get(subtask.ticket_id))


def _subtask_page(request, subtask: Subtask, *, form=None, status: int = 200, stamp: str | None = None):
    """The subtask page; `form` is the person's own answer kept after a refused save from a stale page."""
    ticket = subtask.ticket
    files = list(ticket.attachments.select_related("subtask__department", "uploaded_by"))
    return render(request, "tickets/subtask.html", {
        "subtask": subtask, "ticket": ticket,
        "live": {"ticket": ticket.pk, "stamp": stamp or ticket_stamp_for(Ticket.objects.all(), ticket.pk),
                 "seen_message": 0, "page": reverse("tickets:subtask", args=[subtask.pk])},
        "form": (with_version(form, subtask.version) if form
                 else SubtaskActionForm(initial={"version": subtask.version})),
        "stale": form is not None,
        "contact": ticket_contact_for(request.user, ticket),
        "can_work": can_work_subtask(request.user, subtask),
        "inspection_choices": ReturnShipment.Inspection.choices,
        "disposition_choices": ReturnShipment.Disposition.choices,
        "attachments": [a for a in files if a.subtask_id == subtask.pk],
        "case_files": [a for a in files if a.subtask_id != subtask.pk],  # the customer's evidence, other hand-overs
        "pricediff_batch": pricediff_batch_of_ticket(ticket),
    }, status=status)


@require_POST
@desk_required
def subtask_goods(request, pk):
    """The warehouse's inspection of a returned parcel, or the tracking of a replacement it shipped."""
    subtask = subtask_get_for_user(user=request.user, subtask_id=pk, for_work=True)
    post = request.POST
    if subtask.return_shipment_id:
        attempt(request, lambda: playbook.warehouse_inspect_return(
            subtask=subtask, actor=request.user, inspection=post.get("inspection", ""),
            disposition=post.get("disposition", ""), note=post.get("note", "")), _("Inspection recorded."))
    else:
        attempt(request, lambda: playbook.warehouse_ship_replacement(
            subtask=subtask, actor=request.user, carrier=post.get("carrier", ""),
            tracking_number=post.get("tracking_number", "")), _("Shipment recorded."))
    return redirect("tickets:subtask", pk=pk)


@require_POST
@desk_required
def subtask_act(request, pk):
    subtask_get_for_user(user=request.user, subtask_id=pk)  # not visible: 404 before the form is read
    form = SubtaskActionForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Unknown action."))
        return redirect("tickets:subtask", pk=pk)
    data = form.cleaned_data
    subtask = subtask_get_for_user(user=request.user, subtask_id=pk, for_work=data["action"] != "cancel")
    if data["action"] == "cancel" and not can_edit_ticket(request.user, subtask.ticket):
        raise PermissionDenied
    try:
        subtasks.subtask_act(subtask=subtask, actor=request.user, action=data["action"], result=data["result"],
                             upload=data.get("attachment"), expected_version=data["version"])
    except StaleVersion:
        fresh = subtask_get_for_user(user=request.user, subtask_id=pk)
        return _subtask_page(request, fresh, form=form, status=409)
    except (TransitionRefused, ValidationError) as refused:
        for text in getattr(refused, "messages", [str(refused)]):
            messages.error(request, text)
    else:
        messages.success(request, _("Subtask updated."))
    return redirect_next(request, reverse("tickets:subtask", args=[pk]))


@desk_required
def notifications(request):
    items = list(Notification.objects.filter(recipient=request.user).select_related(*NOTIFICATION_RELATED)[:100])
    masked = not sees_unmasked_pii(request.user)
    for notification in items:
        notification.sentence = notification_sentence(notification, masked=masked)
    return render(request, "tickets/notifications.html", {"items": items})


@require_POST
@desk_required
def notification_open(request, pk):
    notification = Notification.objects.filter(recipient=request.user, pk=pk).select_related("ticket").first()
    if notification is None:
        raise Http404
    notification_mark_read(notification=notification)
    if notification.data.get("incident"):
        # A suggested incident: its page (the ticket it is filed under is only its first member).
        return redirect("tickets:incident", pk=notification.data["incident"])
    if notification.data.get("pricediff_batch"):
        # A bulk refund batch to approve: its page, which finance may open too (the ticket it may not).
        return redirect("tickets:pricediff_detail", pk=notification.data["pricediff_batch"])
    return redirect("tickets:detail", pk=notification.ticket_id)
