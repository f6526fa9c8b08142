"""Browser views: access function, form, one service call, redirect or render.

Refusals from the services (a refused transition, a validation error) come back to the user
as a message on the same page; nothing was changed.
"""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.web import attempt, redirect_next
from customers.services import Caller
from orders.models import ReturnShipment

from . import assignment, services, subtasks
from .dashboard import dashboard_figures
from .filters import QUEUE_LABELS, Queue, TicketFilter, queue_counts, queue_filter
from .forms import (
    ApprovalDecisionForm,
    AssignForm,
    BulkActionForm,
    ClassifyForm,
    ConfirmSolutionForm,
    FollowUpForm,
    IntakeForm,
    OverrideForm,
    ReplyForm,
    SolutionForm,
    SubtaskActionForm,
    SubtaskForm,
    SummaryForm,
    TransitionForm,
    desk_workers,
)
from .incidents.services import incidents_of_ticket
from .models import ApprovalRequest, Attachment, Notification, Subtask, Ticket
from .notifications import notification_mark_read
from .playbook import services as playbook
from .policies import (
    approval_get_for_user,
    can_assign,
    can_bulk_update,
    can_create_tickets,
    can_decide_approvals,
    can_edit_ticket,
    can_see_dashboard,
    can_take,
    can_work_subtask,
    department_id_of,
    desk_required,
    is_department_staff,
    sees_full_tickets,
    sees_unmasked_pii,
    subtask_get_for_user,
    subtasks_visible_to,
    ticket_contact_for,
    ticket_get_for_user,
    tickets_visible_to,
)
from .pricediff.selectors import pricediff_batch_of_ticket
from .replies import render_reply, reply_placeholders, templates_for
from .selectors import (
    customer_recent_tickets,
    orders_with_history,
    subtask_list,
    ticket_changes_by_others,
    ticket_page,
    ticket_page_records,
    ticket_timeline,
)
from .suggestions import reason_labels
from .workflow import ACTION_LABELS, StaleVersion, TransitionRefused, available_actions, ticket_transition

PAGE_SIZE = 50


# Agent workspace -----------------------------------------------------------------------------

@desk_required
def ticket_queue(request):
    """Queues with counts, filters kept in the URL, search, sort and pagination."""
    if not sees_full_tickets(request.user):
        return redirect("tickets:inbox")
    visible = tickets_visible_to(request.user)
    queue = request.GET.get("queue", Queue.MINE)
    if queue not in QUEUE_LABELS:
        queue = Queue.MINE
    counts = queue_counts(visible, request.user)  # "all" has none
    filterset = TicketFilter(request.GET, queryset=visible.filter(queue_filter(queue, request.user)),
                             request=request)
    ids = filterset.qs.values_list("pk", flat=True)
    if not ids.query.order_by:  # no sort chosen, or one refused (the filter bar says why)
        ids = ids.order_by("-created_at", "-id")  # read in this order from ticket_open_created_idx
    # Unfiltered, the list is the tab just counted: no second COUNT.
    known_count = counts.get(queue) if not _filtered(filterset) else None
    page = ticket_page(ids, number=request.GET.get("page"), per_page=PAGE_SIZE, known_count=known_count)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "tickets/queue.html", {
        "page": page, "filter": filterset, "queue": queue,
        "queues": [(name, label, counts.get(name)) for name, label in QUEUE_LABELS.items()],
        "query": query.urlencode(), "bulk_form": BulkActionForm() if can_bulk_update(request.user) else None,
    })


def _filtered(filterset) -> bool:
    """Any filter or search given (ordering aside)? Judged on the raw parameters, so an unknown value
    counts as a filter too: the answer may say "filtered" needlessly, never the reverse."""
    return any(value.strip() for name in filterset.filters if name != "ordering"
               for value in filterset.data.getlist(name))


@desk_required
def ticket_new(request):
    if not can_create_tickets(request.user):
        raise PermissionDenied
    form = IntakeForm(request.POST or None, request.FILES or None, initial={"order_number": request.GET.get("order")})
    order = None
    if form.is_bound:
        form.is_valid()
        order = form.cleaned_data.get("order")
    if form.is_bound and not form.errors:
        data = form.cleaned_data
        facts = {k: data[k] for k in IntakeForm.TICKET_FACTS if data.get(k) not in (None, "")}
        created = {}

        def intake():
            caller = Caller(name=data["customer_name"], phone=data["customer_phone"],
                            platform=data["customer_platform"])
            created["ticket"] = services.ticket_create(
                actor=request.user, channel=data["channel"], description=data["description"],
                customer=data.get("customer"), caller=caller, order=order,
                affected_items=data.get("affected_items") or [], evidence=data.get("evidence"), **facts,
            )

        if attempt(request, intake, _("Ticket created.")):
            return redirect("tickets:detail", pk=created["ticket"].pk)
    matches = orders_with_history(order.external_number) if order else []
    return render(request, "tickets/new.html", {"form": form, "matches": matches})


@desk_required
def order_lookup(request):
    """htmx: the order (with customer and items) for a number typed during the call."""
    number = request.GET.get("order_number", "").strip()
    if not sees_full_tickets(request.user):
        raise PermissionDenied
    return render(request, "tickets/partials/_order_lookup.html",
                  {"matches": orders_with_history(number), "number": number})


# Ticket page -------------------------------------------------------------------------------------

@desk_required
def ticket_detail(request, pk):
    return _ticket_page(request, ticket_get_for_user(user=request.user, ticket_id=pk))


def _ticket_page(request, ticket: Ticket, *, bound: dict | None = None, since=None, status: int = 200):
    """The ticket page. `bound`: forms to show as the person filled them in (a save refused because the
    page was stale), with the changes made meanwhile by others shown above them."""
    from .knowledge.views import ticket_suggestions_context  # that module builds on this one's decorators

    editable = can_edit_ticket(request.user, ticket) and not ticket.is_read_only
    show_pii = sees_unmasked_pii(request.user)
    previous = customer_recent_tickets(ticket.customer_id, exclude_id=ticket.pk) if show_pii else []
    placeholders = reply_placeholders(ticket, request.user) if editable else {}
    reply_templates = [{"name": t.name, "body": render_reply(t.body, placeholders)}
                       for t in templates_for(ticket, request.LANGUAGE_CODE)] if editable else []
    context = {
        "ticket": ticket,
        "editable": editable,
        "show_pii": show_pii,
        "contact": ticket_contact_for(request.user, ticket),
        "timeline": ticket_timeline(ticket),
        "previous": previous,
        "actions": [(a, ACTION_LABELS[a]) for a in available_actions(ticket)] if editable else [],
        "priority_reasons": reason_labels(ticket.priority_reasons),
        "risk_reasons": reason_labels(ticket.risk_reasons),
        "reply_form": ReplyForm(),
        "reply_templates": reply_templates,
        "classify_form": ClassifyForm(initial={
            "type": ticket.type, "category": ticket.category, "responsibility": ticket.responsibility,
            "product_model": ticket.product_model, "symptom": ticket.symptom, "frequency": ticket.frequency,
            "tags": ", ".join(t.name for t in ticket.tags.all()), "version": ticket.version,
        }),
        "override_form": OverrideForm(initial={"version": ticket.version}),
        "summary_form": SummaryForm(initial={
            "root_cause": ticket.root_cause, "summary": ticket.summary, "what_worked": ticket.what_worked,
            "version": ticket.version}),
        "follow_up_form": FollowUpForm(),
        "subtask_form": SubtaskForm(),
        "assign_form": (AssignForm(initial={"assignee": ticket.assignee_id, "version": ticket.version})
                        if can_assign(request.user) else None),
        "can_take": can_take(request.user) and ticket.assignee_id is None and ticket.is_open,
        "subtask_action_form": SubtaskActionForm(),
        "solutions": list(ticket.solutions.all()),
        "solution_form": SolutionForm(),
        "ticket_incidents": incidents_of_ticket(ticket),
        "confirm_form": ConfirmSolutionForm(initial={"channel": ticket.channel}),
        "call_prompt": playbook.call_prompt(ticket),
        **ticket_page_records(ticket),
        **ticket_suggestions_context(ticket=ticket, user=request.user, language=request.LANGUAGE_CODE,
                                     editable=editable),
    }
    if bound:
        context.update({name: _with_version(form, ticket.version) for name, form in bound.items()})
        context["conflict"] = ticket_changes_by_others(ticket, user=request.user, since=since)
    return render(request, "tickets/detail.html", context, status=status)


def _with_version(form, version: int):
    """The person's own input, now based on the current version: saving again is a deliberate choice."""
    form.data = form.data.copy()
    form.data["version"] = version
    form.data["seen_at"] = timezone.now().isoformat()
    return form


def _ticket_write(request, ticket: Ticket, *, form_name: str, form, write: Callable, success: str):
    """One save from a form of the ticket page. A stale page is answered with the page again (409): what
    the others changed meanwhile is shown and what this person typed is kept, never overwritten silently."""
    try:
        write()
    except StaleVersion:
        fresh = ticket_get_for_user(user=request.user, ticket_id=ticket.pk)
        return _ticket_page(request, fresh, bound={form_name: form}, since=form.cleaned_data.get("seen_at"),
                            status=409)
    except TransitionRefused as refused:
        messages.error(request, str(refused))
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        messages.success(request, success)
    return _back(ticket.pk)


def _back(pk):
    return redirect(reverse("tickets:detail", args=[pk]))


@require_POST
@desk_required
def ticket_reply(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        attempt(request, lambda: services.message_add_with_attachment(
            ticket=ticket, actor=request.user, direction=data["direction"], body=data["body"],
            upload=data.get("attachment")), _("Saved."))
    else:
        messages.error(request, _("The message is empty."))
    return _back(pk)


@require_POST
@desk_required
def ticket_classify(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    form = ClassifyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a type, a category and the responsibility."))
        return _back(pk)
    data = dict(form.cleaned_data)
    tags, version, _seen = data.pop("tags"), data.pop("version"), data.pop("seen_at")
    return _ticket_write(request, ticket, form_name="classify_form", form=form, success=_("Classification saved."),
                         write=lambda: services.ticket_classify(ticket=ticket, actor=request.user, tags=tags,
                                                                expected_version=version, **data))


@require_POST
@desk_required
def ticket_override(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    form = OverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you override the suggestion."))
        return _back(pk)
    data = form.cleaned_data
    return _ticket_write(request, ticket, form_name="override_form", form=form, success=_("Saved."),
                         write=lambda: services.ticket_override(
                             ticket=ticket, actor=request.user, priority=data["priority"],
                             risk_level=data["risk_level"], reason=data["reason"], expected_version=data["version"]))


@require_POST
@desk_required
def ticket_transition_view(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Unknown action."))
        return _back(pk)
    data = form.cleaned_data
    return _ticket_write(request, ticket, form_name="transition_form", form=form, success=_("Status updated."),
                         write=lambda: ticket_transition(ticket=ticket, actor=request.user, action=data["action"],
                                                         reason=data["reason"], expected_version=data["version"]))


@require_POST
@desk_required
def ticket_summary(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    form = SummaryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The summary is empty."))
        return _back(pk)
    data = dict(form.cleaned_data)
    version, _seen = data.pop("version"), data.pop("seen_at")
    return _ticket_write(request, ticket, form_name="summary_form", form=form, success=_("Summary saved."),
                         write=lambda: services.ticket_set_summary(ticket=ticket, actor=request.user,
                                                                   expected_version=version, **data))


@require_POST
@desk_required
def ticket_take(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk)
    if not can_take(request.user):
        raise PermissionDenied
    attempt(request, lambda: assignment.ticket_take(ticket=ticket, actor=request.user), _("The ticket is yours."))
    return _back(pk)


@require_POST
@desk_required
def ticket_assign(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk)
    if not can_assign(request.user):
        raise PermissionDenied
    form = AssignForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        attempt(request, lambda: assignment.ticket_assign(
            ticket=ticket, actor=request.user, assignee=data["assignee"], reason=data["reason"],
            expected_version=data["version"]), _("Assignment saved."))
    return redirect_next(request, reverse("tickets:detail", args=[pk]))


@require_POST
@desk_required
def subtask_new(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    form = SubtaskForm(request.POST)
    if form.is_valid():
        attempt(request, lambda: subtasks.subtask_create(ticket=ticket, actor=request.user, **form.cleaned_data),
                 _("Handed to the department."))
    else:
        messages.error(request, _("Choose a department and say what is needed."))
    return _back(pk)


@desk_required
def attachment_download(request, pk):
    """Evidence is served only to people who may see its ticket (never from a public media URL)."""
    attachment = get_object_or_404(Attachment.objects.select_related("ticket"), pk=pk)
    ticket_get_for_user(user=request.user, ticket_id=attachment.ticket_id)
    inline = attachment.is_image or attachment.content_type == "application/pdf"
    return FileResponse(attachment.file.open("rb"), as_attachment=not inline, filename=attachment.original_name,
                        content_type=attachment.content_type)


@require_POST
@desk_required
def solution_new(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    form = SolutionForm(request.POST)
    if form.is_valid():
        attempt(request, lambda: playbook.solution_propose(ticket=ticket, actor=request.user, **form.cleaned_data),
                 _("Solution proposed."))
    else:
        messages.error(request, _("Check the solution's fields."))
    return _back(pk)


@require_POST
@desk_required
def solution_confirm(request, pk, solution_pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    solution = get_object_or_404(ticket.solutions, pk=solution_pk)
    form = ConfirmSolutionForm(request.POST)
    if form.is_valid():
        attempt(request, lambda: playbook.solution_confirm(solution=solution, actor=request.user,
                                                            **form.cleaned_data), _("Agreement recorded."))
    else:
        messages.error(request, _("Record the channel and the exact words agreed."))
    return _back(pk)


@desk_required
def approvals(request):
    if not can_decide_approvals(request.user):
        raise PermissionDenied
    pending = (ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING)
               .select_related("ticket", "requested_by", "solution").order_by("created_at"))
    decided = (ApprovalRequest.objects.exclude(status=ApprovalRequest.Status.PENDING)
               .select_related("ticket", "requested_by", "decided_by").order_by("-decided_at")[:30])
    return render(request, "tickets/approvals.html", {"pending": pending, "decided": decided,
                                                      "form": ApprovalDecisionForm()})


@require_POST
@desk_required
def approval_decide(request, pk):
    approval = approval_get_for_user(user=request.user, approval_id=pk, for_decision=True)
    form = ApprovalDecisionForm(request.POST)
    if form.is_valid():
        try:
            playbook.approval_decide(approval=approval, actor=request.user,
                                     approve=form.cleaned_data["decision"] == "approve",
                                     reason=form.cleaned_data["reason"])
            messages.success(request, _("Decision recorded."))
        except PermissionDenied as denied:
            messages.error(request, str(denied) or _("You may not decide this request."))
        except ValidationError as error:
            for text in error.messages:
                messages.error(request, text)
    return redirect("tickets:approvals")


# Supervisor ----------------------------------------------------------------------------------------

@desk_required
def dashboard(request):
    if not can_see_dashboard(request.user):
        raise PermissionDenied
    figures = dashboard_figures()
    # The staff list is read once and its <option>s rendered once, then repeated in every row's
    # <select>: 60 rows x every staff member rendered one by one cost more than all the queries.
    worker_options = render_to_string("tickets/partials/_worker_options.html", {"workers": desk_workers()})
    return render(request, "tickets/dashboard.html", {"figures": figures, "worker_options": worker_options})


@require_POST
@desk_required
def bulk_action(request):
    if not can_bulk_update(request.user):
        raise PermissionDenied
    form = BulkActionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        attempt(request, lambda: services.tickets_bulk_update(
            ticket_ids=data["tickets"], actor=request.user, action=data["action"], assignee=data.get("assignee"),
            priority=data.get("priority"), tag=data.get("tag"), reason=data.get("reason") or ""),
            _("Bulk action applied."))
    else:
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, text)
    return redirect_next(request, reverse("tickets:queue"))


# Department inbox -------------------------------------------------------------------------------------

@desk_required
def inbox(request):
    """My department's subtasks: open, mine, overdue."""
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
                                                  "show_pii": sees_unmasked_pii(request.user)})


@desk_required
def subtask_detail(request, pk):
    return _subtask_page(request, subtask_get_for_user(user=request.user, subtask_id=pk))


def _subtask_page(request, subtask: Subtask, *, form=None, status: int = 200):
    """The subtask page; `form` is the person's own answer kept after a refused save from a stale page."""
    ticket = subtask.ticket
    return render(request, "tickets/subtask.html", {
        "subtask": subtask, "ticket": ticket,
        "form": (_with_version(form, subtask.version) if form
                 else SubtaskActionForm(initial={"version": subtask.version})),
        "stale": form is not None,
        "contact": ticket_contact_for(request.user, ticket),
        "can_work": can_work_subtask(request.user, subtask),
        "inspection_choices": ReturnShipment.Inspection.choices,
        "disposition_choices": ReturnShipment.Disposition.choices,
        "attachments": list(subtask.attachments.all()),
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


# Notifications ---------------------------------------------------------------------------------------

@desk_required
def notifications(request):
    items = Notification.objects.filter(recipient=request.user).select_related("ticket")[:100]
    return render(request, "tickets/notifications.html", {"items": items})


@require_POST
@desk_required
def notification_open(request, pk):
    notification = Notification.objects.filter(recipient=request.user, pk=pk).select_related("ticket").first()
    if notification is None:
        raise Http404
    notification_mark_read(notification=notification)
    if notification.data.get("pricediff_batch"):
        # A bulk refund batch to approve: its page, which finance may open too (the ticket it may not).
        return redirect("tickets:pricediff_detail", pk=notification.data["pricediff_batch"])
    return redirect("tickets:detail", pk=notification.ticket_id)
