"""SLA configuration: working calendars, policies and big-promo periods (admin-configured)."""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Platform

from ..models.choices import Channel, Priority, TicketType


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BusinessCalendar(models.Model):
    """Working hours per weekday, holidays and make-up workdays (调休), in one time zone."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=50, default="Asia/Shanghai")
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self):
        return self.name


class WorkingInterval(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="intervals", verbose_name=_("calendar")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"), help_text=_("Use 23:59:59 for midnight."))

    class Meta:
        verbose_name = _("working interval")
        verbose_name_plural = _("working intervals")
        ordering = ["calendar_id", "weekday", "start"]
        constraints = [models.CheckConstraint(condition=Q(start__lt=F("end")), name="interval_start_before_end")]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class CalendarDay(models.Model):
    """A date that breaks the weekly pattern: a holiday, or a make-up workday worked like another weekday."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (no work)")
        WORKDAY = "workday", _("Make-up workday (调休)")

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="days", verbose_name=_("calendar")
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    works_like = models.PositiveSmallIntegerField(
        _("works like"),
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        help_text=_("For a make-up workday: whose working hours apply."),
    )
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["calendar_id", "date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendar_day_unique")]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()}"


class SLACheck(models.Model):
    """When the SLA sweep next looks at a ticket (its next warning, breach or follow-up moment) and what it
    will find then: a row per ticket that has one, read and written as Ticket.sla_next_check_at and
    Ticket.sla_plan. Not a column of the ticket: the sweep moves it for every ticket it looks at, and on the
    ticket row each such move rewrote the row in all the ticket's indexes (the column was indexed, so no
    update was HOT); here it is a narrow row with one index."""

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="sla_check",
        verbose_name=_("ticket"),
    )
    at = models.DateTimeField(_("next SLA check"))
    # What the sweep does at each coming moment, as the last refresh computed it (sla_plan in clock.py): the
    # sweep reads its moments from here instead of recomputing the ticket's clocks. Empty: recompute.
    plan = models.JSONField(_("SLA plan"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("next SLA check")
        verbose_name_plural = _("next SLA checks")
        indexes = [models.Index(fields=["at"], name="slacheck_at_idx")]

    def __str__(self):
        return f"{self.ticket_id} @ {self.at:%Y-%m-%d %H:%M}"


class PromoPeriod(models.Model):
    """A big-promo period (双十一, 618...): policies marked for big promo apply only inside one."""

    name = models.CharField(_("name"), max_length=100)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        verbose_name = _("big-promo period")
        verbose_name_plural = _("big-promo periods")
        ordering = ["-starts_at"]
        constraints = [models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="promo_starts_before_end")]

    def __str__(self):
        return self.name


def default_warning_thresholds():
    return [80]


class SLAPolicy(models.Model):
    """Targets for the tickets it matches. Blank criteria match anything; the most specific active
    policy wins (tickets/sla/clock.py). Targets are minutes of business time on the calendar."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    big_promo_only = models.BooleanField(
        _("big promo only"), default=False, help_text=_("Applies only during a big-promo period, and then wins.")
    )
    # What a policy matches on (blank: any), chosen from the desk's own values.
    priority = models.CharField(_("priority"), max_length=2, blank=True, choices=Priority.choices)
    ticket_type = models.CharField(_("type"), max_length=20, blank=True, choices=TicketType.choices)
    channel = models.CharField(_("channel"), max_length=20, blank=True, choices=Channel.choices)
    customer_tier = models.CharField(_("customer tier"), max_length=10, blank=True, choices=Customer.Tier.choices)
    platform = models.CharField(_("platform"), max_length=20, blank=True, choices=Platform.choices,
                                help_text=_("The customer's platform (taobao, tmall, jd, douyin, pinduoduo...)."))
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, related_name="policies", verbose_name=_("calendar")
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response (minutes)"), validators=[MinValueValidator(1)]
    )
    next_response_minutes = models.PositiveIntegerField(_("next response (minutes)"), validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(_("resolution (minutes)"), validators=[MinValueValidator(1)])
    follow_up_minutes = models.PositiveIntegerField(
        _("follow-up after resolution (minutes)"), validators=[MinValueValidator(1)]
    )
    warning_thresholds = models.JSONField(
        _("warning thresholds (%)"),
        default=default_warning_thresholds,
        help_text=_("Percentages of the target at which the assignee is warned, e.g. [50, 80]."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def specificity(self) -> int:
        return sum(bool(v) for v in (self.priority, self.ticket_type, self.channel, self.customer_tier, self.platform))

    def clean(self):
        thresholds = self.warning_thresholds
        if not isinstance(thresholds, list) or not all(isinstance(p, int) and 0 < p < 100 for p in thresholds):
            raise ValidationError({"warning_thresholds": _("A list of whole percentages between 1 and 99.")})
