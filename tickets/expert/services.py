"""Writes of the expert agent's tools: applying a macro (all or nothing), saving and managing views, and the
supervisor's macros."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from customers.masking import mask_name

from ..events import event_record
from ..live import desk_shared_forget
from ..models import Message, Ticket
from ..policies import can_edit_ticket, is_supervisor
from ..replies import render_reply, reply_placeholders
from ..services import message_add, ticket_classify
from ..subtasks import subtask_create
from ..workflow import TransitionRefused, available_actions, refusal_reason, ticket_lock_for_write
from ..workflow import ticket_transition as workflow_transition
from .models import Macro, SavedView
from .selectors import MACROS_OFFERED


@transaction.atomic
def macro_apply(*, macro: Macro, ticket: Ticket, actor, expected_version: int | None = None) -> Ticket:
    """The macro's reply (as the agent's outbound message, placeholders filled), its tags, its status move and
    its subtask, through the services that do each, and one event naming the macro. Any refusal (a stale
    page, a move the ticket's state does not allow now, a subtask refused) raises and writes nothing."""
    locked = ticket_lock_for_write(ticket, action="apply macro", expected_version=expected_version,
                                   related=("customer", "order"))
    if not can_edit_ticket(actor, locked):
        raise PermissionDenied
    # Checked before anything is written, against what the ticket allows now (the buttons' own list).
    if macro.action and macro.action not in available_actions(locked):
        reason = refusal_reason(locked, macro.action, reason="-") or _("not available now")
        raise TransitionRefused(status=locked.status, action=macro.action, reason=reason)
    values = reply_placeholders(locked, actor)
    if macro.body.strip():
        message_add(ticket=locked, actor=actor, direction=Message.Direction.OUTBOUND,
                    body=render_reply(macro.body, values))
    if macro.tag_names:
        current = list(locked.tags.values_list("name", flat=True))
        if set(macro.tag_names) - set(current):
            ticket_classify(ticket=locked, actor=actor, tags=[*current, *macro.tag_names])
    if macro.action:
        workflow_transition(ticket=locked, action=macro.action, actor=actor, reason=macro.name)
    if macro.has_subtask:
        subtask_create(ticket=locked, actor=actor, department=macro.subtask_department, kind=macro.subtask_kind,
                       # the department reads the customer's name masked, as everywhere else it works
                       description=render_reply(macro.subtask_description,
                                                {**values, "customer_name": mask_name(values["customer_name"])}))
    fresh = Ticket.objects.get(pk=locked.pk)
    event_record(ticket=fresh, actor=actor, action="macro_applied", reason=macro.name)
    return fresh


def _ensure_macro_manager(actor) -> None:
    if not is_supervisor(actor):
        raise PermissionDenied


@transaction.atomic
def macro_save(*, actor, macro: Macro | None = None, name: str, body: str, action: str, tags: str,
               subtask_department=None, subtask_kind: str = "", subtask_description: str = "") -> Macro:
    """Create (macro None) or change a macro: supervisors only."""
    _ensure_macro_manager(actor)
    macro = macro or Macro(created_by=actor)
    macro.name, macro.body, macro.action, macro.tags = name.strip(), body, action, tags
    macro.subtask_department, macro.subtask_kind = subtask_department, subtask_kind
    macro.subtask_description = subtask_description
    macro.full_clean()
    try:
        with transaction.atomic():  # two saves of one name at once: the second is told, not a 500
            macro.save()
    except IntegrityError:
        raise ValidationError({"name": _("A macro with this name already exists.")}) from None
    _forget_macros_offered()
    return macro


@transaction.atomic
def macro_delete(*, actor, macro: Macro) -> None:
    _ensure_macro_manager(actor)
    macro.delete()
    _forget_macros_offered()


def _forget_macros_offered() -> None:
    # After the commit: forgotten before it, a ticket page could keep the old list again for the window.
    transaction.on_commit(lambda: desk_shared_forget(MACROS_OFFERED, settings.SHARED_CHOICES_SECONDS))


# Saved views ---------------------------------------------------------------------------------------------


def _check_name_free(*, owner, name: str, exclude_pk: int | None = None) -> None:
    taken = SavedView.objects.filter(owner=owner, name=name).exclude(pk=exclude_pk).exists()
    if taken:
        raise ValidationError({"name": _("You already have a view with this name.")})


@transaction.atomic
def saved_view_create(*, owner, name: str, query: str, shared: bool = False) -> SavedView:
    """Save a view (`query` already normalised by SavedViewForm). Only supervisors share with everyone."""
    if shared and not is_supervisor(owner):
        raise PermissionDenied
    name = name.strip()
    _check_name_free(owner=owner, name=name)
    try:
        with transaction.atomic():  # a double click: the second save is told the name is taken
            return SavedView.objects.create(owner=owner, name=name, query=query, shared=shared)
    except IntegrityError:
        raise ValidationError({"name": _("You already have a view with this name.")}) from None


@transaction.atomic
def saved_view_rename(*, view: SavedView, actor, name: str) -> SavedView:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    _check_name_free(owner=view.owner, name=name, exclude_pk=view.pk)
    view.name = name
    try:
        with transaction.atomic():
            view.save(update_fields=["name"])
    except IntegrityError:
        raise ValidationError({"name": _("You already have a view with this name.")}) from None
    return view


@transaction.atomic
def saved_view_delete(*, view: SavedView, actor) -> None:
    view.delete()
