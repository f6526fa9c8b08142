"""Follow-up (回访) writes: the customer's survey answer and the agent's follow-up record.

The answer decides what happens next (DESIGN: closed on answer, reopened when not satisfied):
not solved → reopen, with the customer's words as the reason, and tell the assignee and the
supervisors; solved → close (outcome rated or confirmed); a low score alerts the supervisors.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .. import notes
from ..events import event_record
from ..models import Channel, Status, Ticket
from ..notification_text import WORDS_KEPT
from ..notifications import Notification, notify_about_ticket
from ..sla.clock import sla_after_change
from ..workflow import Action, ticket_close_outcome_refresh, ticket_lock_for_write, ticket_transition
from .models import FollowUp, SatisfactionSurvey


def _locked_after_resolution(ticket: Ticket, action: str) -> Ticket:
    locked = ticket_lock_for_write(ticket, action=action)
    if not locked.follow_up_open:
        raise ValidationError({"ticket": _("Follow-up starts once the case is resolved.")})
    return locked


@transaction.atomic
def survey_submit(
    *, ticket: Ticket, solved: bool, score: int | None, comment: str = "", channel: str = Channel.CUSTOMER_LINK,
    actor=None,
) -> SatisfactionSurvey:
    """Store the customer's answer for the current resolution (once) and act on it."""
    if score is not None and not 1 <= score <= 5:
        raise ValidationError({"score": _("Choose a score from 1 to 5.")})
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    ticket = _locked_after_resolution(ticket, "survey")
    if SatisfactionSurvey.objects.filter(ticket=ticket, resolved_at=ticket.resolved_at).exists():
        raise ValidationError({"survey": _("This resolution has already been answered. Thank you.")})
    survey = SatisfactionSurvey.objects.create(
        ticket=ticket, resolved_at=ticket.resolved_at, solved=solved, score=score, comment=comment.strip(),
        channel=channel, recorded_by=actor,
    )
    event_record(
        ticket=ticket, actor=actor, action="survey_answered", reason=survey.comment,
        changes={"solved": [None, solved], "score": [None, score], "channel": [None, channel]},
    )
    data = {"survey": survey.pk, "score": score}
    if not solved:
        ticket_transition(
            ticket=ticket, action=Action.REOPEN, actor=actor,
            reason=notes.note("The customer says the problem is not solved: %(words)s", words=survey.comment or "-"),
        )
        notify_about_ticket(ticket=ticket, kind=Notification.Kind.NOT_SOLVED,
                            data={**data, "words": survey.comment[:WORDS_KEPT]},
                            key=f"survey:{survey.pk}:not_solved")
        return survey
    if ticket.status == Status.RESOLVED:
        ticket_transition(
            ticket=ticket, action=Action.CLOSE, actor=actor, reason=notes.note("The customer confirmed it is solved.")
        )
    else:  # closed as silent before the answer came: the answer now tells how it ended
        ticket = ticket_close_outcome_refresh(ticket=ticket)
    if score is not None and score <= settings.CSAT_ALERT_SCORE:
        notify_about_ticket(ticket=ticket, kind=Notification.Kind.LOW_SATISFACTION, data=data,
                            key=f"survey:{survey.pk}:low")
    return survey


@transaction.atomic
def follow_up_record(
    *, ticket: Ticket, actor, channel: str, result: str, note: str = "", score: int | None = None
) -> FollowUp:
    """The agent's follow-up call or message after resolution; a score given on the call is the survey."""
    if result not in FollowUp.Result.values:
        raise ValidationError({"result": _("Unknown result.")})
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    if result == FollowUp.Result.NOT_SOLVED and not note.strip():
        raise ValidationError({"note": _("Say what is still wrong: the case is reopened with it.")})
    if score is not None and result != FollowUp.Result.SOLVED:
        raise ValidationError({"score": _("A score is taken when the customer confirms it is solved.")})
    ticket = _locked_after_resolution(ticket, "follow up")
    follow_up = FollowUp.objects.create(ticket=ticket, channel=channel, result=result, note=note.strip(),
                                        recorded_by=actor)
    event_record(
        ticket=ticket, actor=actor, action="follow_up_recorded", reason=follow_up.note,
        changes={"follow_up_result": [None, result], "channel": [None, channel]},
    )
    if ticket.followed_up_at is None:  # the follow-up is done, answered or not: its clock stops
        ticket.followed_up_at = follow_up.created_at
        ticket.save(update_fields=["followed_up_at", "updated_at"])
        sla_after_change(ticket, actor=actor)
    if result == FollowUp.Result.NOT_SOLVED:
        ticket_transition(ticket=ticket, action=Action.REOPEN, actor=actor, reason=follow_up.note)
    elif result == FollowUp.Result.SOLVED:
        if score is not None:
            survey_submit(ticket=ticket, solved=True, score=score, comment=follow_up.note, channel=channel, actor=actor)
        elif ticket.status == Status.RESOLVED:
            ticket_transition(ticket=ticket, action=Action.CLOSE, actor=actor,
                              reason=notes.note("The customer confirmed it is solved."))
        else:
            ticket_close_outcome_refresh(ticket=ticket)
    return follow_up
