from ..models import CloseOutcome, Ticket
from .models import FollowUp, SatisfactionSurvey


def close_outcome_of(ticket: Ticket, *, resolved_at) -> str:
    """How the follow-up of the current resolution ended: rated, confirmed, or the customer stayed silent."""
    survey = SatisfactionSurvey.objects.filter(ticket=ticket, resolved_at=resolved_at).first()
    if survey is not None:
        return CloseOutcome.RATED if survey.score is not None else CloseOutcome.CONFIRMED
    if FollowUp.objects.filter(ticket=ticket, created_at__gte=resolved_at, result=FollowUp.Result.SOLVED).exists():
        return CloseOutcome.CONFIRMED
    return CloseOutcome.SILENT


def survey_for_current_resolution(ticket: Ticket) -> SatisfactionSurvey | None:
    if ticket.resolved_at is None:
        return None
    return SatisfactionSurvey.objects.filter(ticket=ticket, resolved_at=ticket.resolved_at).first()
