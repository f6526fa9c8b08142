from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..models import Channel


class SatisfactionSurvey(models.Model):
    """The customer's answer after a resolution: solved or not, a score 1–5 (optional), a comment.

    One answer per resolution (`resolved_at` of the round it answers): a reopened and re-resolved
    case is asked again, a double submit is not stored twice.
    """

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="surveys", verbose_name=_("ticket")
    )
    resolved_at = models.DateTimeField(_("resolution answered"))
    solved = models.BooleanField(_("customer says it is solved"))
    score = models.PositiveSmallIntegerField(
        _("satisfaction (1–5)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    # None when the customer answered on their link; the agent when taken down on a call.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("answered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "resolved_at"], name="survey_once_per_resolution"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="survey_score_1_to_5"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="survey_created_idx")]

    def __str__(self):
        return f"{self.ticket} ★{self.score or '-'}"


class FollowUp(models.Model):
    """An agent's follow-up contact (回访) after resolution and what came of it."""

    class Result(models.TextChoices):
        SOLVED = "solved", _("Customer confirms it is solved")
        NOT_SOLVED = "not_solved", _("Problem remains")  # reopens the case
        NO_ANSWER = "no_answer", _("No answer")  # left for auto-close (silent)

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("ticket")
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    result = models.CharField(_("result"), max_length=20, choices=Result.choices)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.ticket} {self.get_result_display()}"
