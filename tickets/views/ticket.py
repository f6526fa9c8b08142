"""The ticket page and every form on it: reply, classify, override, move, summary, take, assign, hand a
subtask over, attachments."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from aftersales.web import attempt, redirect_next, render_hot, with_version
from customers.masking import mask_phone

from .. import assignment, services, subtasks
from ..expert.forms import MacroApplyForm
from ..expert.selectors import macros_offered
from ..expert.services import macro_apply
from ..forms import (
    AssignForm,
    ClassifyForm,
    ConfirmSolutionForm,
    FollowUpForm,
    OverrideForm,
    ReplyForm,
    SolutionForm,
    SubtaskActionForm,
    SubtaskForm,
    SummaryForm,
    TransitionForm,
)
from ..fragments import template_digest
from ..incidents.services import incidents_of_ticket
from ..knowledge.views import ticket_suggestions_context
from ..live import ticket_stamp_for
from ..models import Attachment, Ticket
from ..outbound.sms import phone_of, sms_refusal
from ..playbook import services as playbook
from ..policies import (
    can_assign,
    can_edit_ticket,
    can_take,
    desk_required,
    is_supervisor,
    sees_unmasked_pii,
    ticket_contact_for,
    ticket_get_for_page,
    ticket_get_for_user,
)
from ..replies import render_reply, reply_placeholders, templates_offered
from ..selectors import (
    customer_recent_tickets,
    has_rows,
    ticket_changes_by_others,
    ticket_page_records,
    ticket_timeline,
)
from ..sla.stops import with_clock_stops
from ..suggestions import reason_labels
from ..workflow import (
    ACTION_LABELS,
    StaleVersion,
    TransitionRefused,
    available_actions,
    blocked_actions,
    ticket_transition,
)


@desk_required
def ticket_detail(request, pk):
    # The change stamp before what the page shows: a change made meanwhile moves it past the page, so
    # the page's first poll fetches it (read after, it would be taken as seen and never shown).
    stamp = ticket_stamp_for(Ticket.objects.all(), pk)
    return _ticket_page(request, ticket_get_for_page(user=request.user, ticket_id=pk), stamp=stamp)


# The rendered timeline is the same for everyone who may open the ticket: cached by the ticket's change stamp
# (which anything shown on the timeline moves), the language and the time zone. An hour bounds what a renamed
# user or a new translation leaves behind; a changed template is a new key.
TIMELINE_TEMPLATE = "tickets/partials/_timeline.html"
TIMELINE_TEMPLATES = (TIMELINE_TEMPLATE, "tickets/partials/_deliveries.html")  # and what it includes
TIMELINE_CACHE_SECONDS = 3600


def _timeline(ticket: Ticket, stamp: str) -> tuple[str, int]:
    """The timeline's HTML and the newest message on it (where the page's live poll starts)."""
    key = (f"ticket-timeline:{template_digest(*TIMELINE_TEMPLATES)}:{ticket.pk}:{stamp}:{get_language()}:"
           f"{timezone.get_current_timezone_name()}")
    cached = cache.get(key)
    if cached is not None:
        return cached
    timeline = ticket_timeline(ticket)
    html = get_template(TIMELINE_TEMPLATE).render({"timeline": timeline})
    seen_message = max((item.pk for kind, _when, item in timeline if kind == "message"), default=0)
    cache.set(key, (html, seen_message), TIMELINE_CACHE_SECONDS)
    return html, seen_message


def _ticket_page(request, ticket: Ticket, *, bound: dict | None = None, since=None, status: int = 200,
                 stamp: str | None = None):
    """The ticket page. `bound`: forms to show as the person filled them in (a save refused because the
    page was stale), with the changes made meanwhile by others shown above them."""

    editable = can_edit_ticket(request.user, ticket) and not ticket.is_read_only
    stamp = stamp or ticket_stamp_for(Ticket.objects.all(), ticket.pk)
    timeline_html, seen_message = _timeline(ticket, stamp)
    with_clock_stops([ticket])
    show_pii = sees_unmasked_pii(request.user)
    previous = customer_recent_tickets(ticket.customer_id, exclude_id=ticket.pk) if show_pii else []
    placeholders = reply_placeholders(ticket, request.user) if editable else {}
    templates = templates_offered(ticket, request.LANGUAGE_CODE) if editable else []
    reply_templates = [{"name": t.name, "body": render_reply(t.body, placeholders)} for t in templates]
    context = {
        "ticket": ticket,
        "live": {"ticket": ticket.pk, "stamp": stamp, "seen_message": seen_message,
                 "page": reverse("tickets:detail", args=[ticket.pk])},
        "editable": editable,
        "show_pii": show_pii,
        "contact": ticket_contact_for(request.user, ticket),
        "timeline_html": timeline_html,
        "previous": previous,
        "actions": [(a, ACTION_LABELS[a]) for a in available_actions(ticket)] if editable else [],
        "blocked_actions": [(ACTION_LABELS[a], why) for a, why in blocked_actions(ticket)] if editable else [],
        "subtask_refusal": subtasks.subtask_create_refusal(ticket),
        "senior_wanted": editable and request.user.pk == ticket.assignee_id and assignment.senior_wanted(ticket),
        "may_keep_high_risk": settings.HIGH_RISK_AGENTS_MAY_KEEP,
        "exposure_to_confirm": editable and not ticket.threatens_exposure and any(
            reason.startswith("exposure_words:") for reason in ticket.risk_reasons),
        "priority_reasons": reason_labels(ticket.priority_reasons),
        "risk_reasons": reason_labels(ticket.risk_reasons),
        "reply_form": ReplyForm(),
        "macros": macros_offered() if editable else [],
        "reply_templates": reply_templates,
        "follow_up_form": FollowUpForm(),
        "subtask_rows": _subtasks_with_files(ticket),
        "assign_form": (AssignForm(initial={"assignee": ticket.assignee_id, "version": ticket.version})
                        if can_assign(request.user) else None),
        "can_take": can_take(request.user) and ticket.assignee_id is None and ticket.is_open,
        "subtask_action_form": SubtaskActionForm(),
        "solutions": list(ticket.solutions.all()),
        "ticket_incidents": incidents_of_ticket(ticket) if has_rows(ticket, "incidents") else [],
        "confirm_form": ConfirmSolutionForm(initial={"channel": ticket.channel}),
        "call_prompt": playbook.call_prompt(ticket),
        "link_sms": {"refusal": sms_refusal(ticket), "phone": mask_phone(phone_of(ticket.customer.phone))}
        if editable else None,
        **ticket_page_records(ticket),
        **ticket_suggestions_context(ticket=ticket, user=request.user, language=request.LANGUAGE_CODE,
                                     editable=editable, placeholders=placeholders, templates=templates),
    }
    open_forms = _forms_open_with_page(ticket, bound or {}) if editable else set()
    context["open_forms"] = open_forms
    for name in open_forms:
        context.update(FOLDED_FORMS[name](ticket))
    if bound:
        context.update({name: with_version(form, ticket.version) for name, form in bound.items()})
        context["conflict"] = ticket_changes_by_others(ticket, user=request.user, since=since)
    context["is_supervisor"] = is_supervisor(request.user)
    return render_hot(request, "tickets/detail.html", context, status=status)


# The ticket page's folded forms, by name: each builds its form's context. A folded form is built and rendered
# only when the agent opens it (fetched by htmx from ticket_form), or with the page when it opens with it.
FOLDED_FORMS: dict[str, Callable[[Ticket], dict]] = {
    "classify": lambda ticket: {"classify_form": ClassifyForm(initial={
        "type": ticket.type, "category": ticket.category, "responsibility": ticket.responsibility,
        "product_model": ticket.product_model, "symptom": ticket.symptom, "frequency": ticket.frequency,
        "tags": ", ".join(t.name for t in ticket.tags.all()), "version": ticket.version})},
    "override": lambda ticket: {"override_form": OverrideForm(initial={"version": ticket.version})},
    "summary": lambda ticket: {"summary_form": SummaryForm(initial={
        "root_cause": ticket.root_cause, "summary": ticket.summary, "what_worked": ticket.what_worked,
        "version": ticket.version})},
    "solution": lambda ticket: {"solution_form": SolutionForm()},
    "subtask": lambda ticket: {"subtask_form": SubtaskForm()},
}


def _forms_open_with_page(ticket: Ticket, bound: dict) -> set[str]:
    """The folded forms that open with the page: a case still to classify, a closed case's summary, and a
    form whose save was refused (shown as the person filled it in)."""
    wanted = {name for name in FOLDED_FORMS if f"{name}_form" in bound}
    if not ticket.type or not ticket.category:
        wanted.add("classify")
    if not ticket.is_open:
        wanted.add("summary")
    return wanted


@require_GET
@desk_required
def ticket_form(request, pk, form):
    """One folded form of the ticket page, fetched when the agent opens it."""
    if form not in FOLDED_FORMS:
        raise Http404
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    if ticket.is_read_only:
        raise PermissionDenied
    return render(request, f"tickets/partials/ticket_forms/{form}.html",
                  {"ticket": ticket, **FOLDED_FORMS[form](ticket)})


def _subtasks_with_files(ticket: Ticket) -> list[tuple]:
    """Each subtask with the files handed over with it or sent back by the department (prefetched: no query)."""
    files: dict[int, list[Attachment]] = {}
    for attachment in ticket.attachments.all():
        if attachment.subtask_id:
            files.setdefault(attachment.subtask_id, []).append(attachment)
    return [(subtask, files.get(subtask.pk, [])) for subtask in ticket.subtasks.all()]


def _ticket_write(request, ticket: Ticket, *, form_name: str, form, write: Callable, success: str):
    """One save from a form of the ticket page. A stale page is answered with the page again (409): what
    the others changed meanwhile is shown and what this person typed is kept, never overwritten silently."""
    try:
        write()
    except StaleVersion:
        fresh = ticket_get_for_page(user=request.user, ticket_id=ticket.pk)
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
def ticket_apply_macro(request, pk):
    """One click: the macro's reply, tags, status move and subtask, all or nothing."""
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    form = MacroApplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a macro."))
        return _back(pk)
    data = form.cleaned_data
    return _ticket_write(request, ticket, form_name="macro_form", form=form,
                         success=_("Macro applied: %(name)s") % {"name": data["macro"].name},
                         write=lambda: macro_apply(macro=data["macro"], ticket=ticket, actor=request.user,
                                                   expected_version=data["version"]))


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


def _version(request) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


@require_POST
@desk_required
def ticket_hand_to_senior(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    attempt(request, lambda: assignment.ticket_hand_to_senior(
        ticket=ticket, actor=request.user, expected_version=_version(request)), _("Handed to a senior agent."))
    return _back(pk)


@require_POST
@desk_required
def ticket_keep_high_risk(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    attempt(request, lambda: assignment.ticket_keep_high_risk(
        ticket=ticket, actor=request.user, expected_version=_version(request)), _("You keep this case."))
    return _back(pk)


@require_POST
@desk_required
def ticket_confirm_exposure(request, pk):
    """The agent confirms the exposure threat the customer's words suggested: risk becomes high."""
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    attempt(request, lambda: services.ticket_classify(
        ticket=ticket, actor=request.user, threatens_exposure=True, expected_version=_version(request)),
        _("Exposure threat confirmed."))
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
    form = SubtaskForm(request.POST, request.FILES)
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
