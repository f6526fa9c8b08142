"""SLA clocks of one ticket: which policy applies, when each clock falls due, pause and resume.

The due times live on the ticket, the next check and the plan (what the sweep will find at each coming
moment) in a row of their own (SLACheck, written with them by sla_save or sla_checks_save); the
database is the truth. `sla_refresh` recomputes them
from their start times, the policy's targets and the business time paused so far; it is
called inside the transaction of every change that moves them (intake, a message, a status
change, a classification or priority change, a policy or calendar edit). In business-time
coordinates every clock is a straight line: due = start + target + paused, so a pause is
deducted exactly, however many nights, weekends and holidays it spans.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, Subquery
from django.utils import timezone
from django.utils.translation import gettext_noop

from ..events import event_record
from ..models import OPEN_STATUSES, SLAState, Status, Ticket
from ..notes import note
from .bulk import sla_checks_save
from .business_time import CalendarHasNoWorkingTime, Schedule
from .models import BusinessCalendar, PromoPeriod, SLAPolicy

logger = logging.getLogger(__name__)

# The clocks a ticket can have running, with the policy field holding each target.
FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION, FOLLOW_UP = "first_response", "next_response", "resolution", "follow_up"
TARGET_FIELD = {
    FIRST_RESPONSE: "first_response_minutes",
    NEXT_RESPONSE: "next_response_minutes",
    RESOLUTION: "resolution_minutes",
    FOLLOW_UP: "follow_up_minutes",
}
DUE_FIELD = {
    FIRST_RESPONSE: "first_response_due_at",
    NEXT_RESPONSE: "next_response_due_at",
    RESOLUTION: "resolution_due_at",
    FOLLOW_UP: "follow_up_due_at",
}
# The SLA columns of the ticket row; with the next check (a row of its own, SLACheck) what a refresh sets.
SLA_COLUMNS = [
    "sla_policy",
    "sla_state",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
    "follow_up_due_at",
    "next_response_started_at",
    "resolution_started_at",
    "sla_paused_at",
    "sla_paused_seconds",
    "first_response_breached",
    "resolution_breached",
]
SLA_FIELDS = [*SLA_COLUMNS, "sla_next_check_at"]
# The ticket facts a policy matches on, in the order SLAContext.policy_for keys them.
MATCHED_FACTS = ("priority", "ticket_type", "channel", "customer_tier", "platform")
# A clock that ran past its due marks the ticket for good (reports count SLA compliance from these).
BREACH_FLAG = {FIRST_RESPONSE: "first_response_breached", RESOLUTION: "resolution_breached"}


class ScheduleCache:
    """Calendars as Schedules, loaded once per calendar version (a sweep reuses them across batches)."""

    def __init__(self):
        self._schedules: dict[tuple[int, datetime], Schedule] = {}

    def get(self, calendar: BusinessCalendar) -> Schedule:
        key = (calendar.pk, calendar.updated_at)
        if key not in self._schedules:
            weekly: dict[int, list] = {}
            for interval in calendar.intervals.all():
                weekly.setdefault(interval.weekday, []).append((interval.start, interval.end))
            holidays, workdays = set(), {}
            for day in calendar.days.all():
                if day.kind == day.Kind.HOLIDAY:
                    holidays.add(day.date)
                else:
                    workdays[day.date] = day.works_like
            self._schedules[key] = Schedule(
                ZoneInfo(calendar.time_zone),
                {weekday: tuple(sorted(spans)) for weekday, spans in weekly.items()},
                frozenset(holidays),
                workdays,
            )
        return self._schedules[key]


@dataclass
class SLAContext:
    """What recomputing needs besides the ticket; built once and shared by a whole batch."""

    policies: list[SLAPolicy]
    promo_on: bool
    schedules: ScheduleCache
    # The next big-promo start or end: the policy a ticket matches may change then (its plan's recheck).
    promo_next: datetime | None = None
    # Tickets sharing priority, type, channel, tier and platform share a policy: a batch matches each once.
    matches: dict[tuple, SLAPolicy | None] = dataclasses.field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, now: datetime | None = None, schedules: ScheduleCache | None = None) -> SLAContext:
        now = now or timezone.now()
        promo = PromoPeriod.objects.filter(starts_at__lte=now, ends_at__gt=now)
        starts = PromoPeriod.objects.filter(starts_at__gt=now).order_by("starts_at").values("starts_at")[:1]
        ends = PromoPeriod.objects.filter(ends_at__gt=now).order_by("ends_at").values("ends_at")[:1]
        # Whether a promo runs, and when one next starts or ends, ride along on the policies' query (one round
        # trip less on every intake).
        policies = list(
            SLAPolicy.objects.filter(is_active=True).select_related("calendar")
            .annotate(promo_on=Exists(promo), promo_start=Subquery(starts), promo_end=Subquery(ends))
        )
        if not policies:  # no policy, no clock: nothing to plan
            return cls(policies=[], promo_on=promo.exists(), schedules=schedules or ScheduleCache())
        boundaries = [moment for moment in (policies[0].promo_start, policies[0].promo_end) if moment is not None]
        return cls(
            policies=policies,
            promo_on=policies[0].promo_on,
            schedules=schedules or ScheduleCache(),
            promo_next=min(boundaries, default=None),
        )

    def policy_for(self, ticket: Ticket) -> SLAPolicy | None:
        """The most specific matching policy; a big-promo policy wins a tie during a promo."""
        customer = ticket.customer if ticket.customer_id else None
        key = (
            ticket.priority,
            ticket.type,
            ticket.channel,
            customer.tier if customer else "",
            customer.platform if customer else "",
        )
        if key not in self.matches:
            self.matches[key] = self._match(dict(zip(MATCHED_FACTS, key, strict=True)))
        return self.matches[key]

    def _match(self, facts: dict) -> SLAPolicy | None:
        matching = [
            policy
            for policy in self.policies
            if (self.promo_on or not policy.big_promo_only)
            and all(not getattr(policy, field) or getattr(policy, field) == value for field, value in facts.items())
        ]
        if not matching:
            return None
        return max(matching, key=lambda p: (p.specificity, p.big_promo_only, -p.pk))

    def schedule(self, policy: SLAPolicy) -> Schedule:
        return self.schedules.get(policy.calendar)


@dataclass(frozen=True)
class Clock:
    kind: str
    started_at: datetime
    target_seconds: int
    paused_seconds: int
    due_at: datetime


def running_clocks(ticket: Ticket, policy: SLAPolicy, schedule: Schedule) -> list[Clock]:
    """The clocks running for the ticket as it is now (none while closed or archived)."""
    starts: list[tuple[str, datetime | None, int]] = []
    if ticket.status in OPEN_STATUSES:
        if ticket.first_response_at is None:
            starts.append((FIRST_RESPONSE, ticket.created_at, ticket.sla_paused_seconds))
        if ticket.next_response_started_at is not None:
            starts.append((NEXT_RESPONSE, ticket.next_response_started_at, 0))
        starts.append((RESOLUTION, ticket.resolution_started_at or ticket.created_at, ticket.sla_paused_seconds))
    elif ticket.status == Status.RESOLVED and ticket.resolved_at is not None and ticket.followed_up_at is None:
        starts.append((FOLLOW_UP, ticket.resolved_at, 0))
    return [_clock(ticket, kind, started_at, paused, policy, schedule) for kind, started_at, paused in starts]


def _clock(ticket: Ticket, kind: str, started_at: datetime, paused: int, policy: SLAPolicy, schedule) -> Clock:
    if kind == FIRST_RESPONSE and ticket.platform_deadline_at:
        # The platform's own deadline wins over the default target (it agrees for the buyer then).
        target = int(schedule.between(started_at, ticket.platform_deadline_at))
        return Clock(kind, started_at, target, 0, ticket.platform_deadline_at)
    target = getattr(policy, TARGET_FIELD[kind]) * 60
    return Clock(kind, started_at, target, paused, schedule.add(started_at, target + paused))


def _flag_breaches(ticket: Ticket, clocks: list[Clock], was_running: set[str], policy, schedule, now) -> None:
    """A clock is breached when its due time passed while it ran: still running and due before now (or
    before the pause began: time waiting on the customer does not count), or stopped in this change
    (answered, resolved) after its due. Due times are taken with the pauses known now, not as stored
    before a resume moved them. The flags stay set: reports count them."""
    running = {clock.kind: clock for clock in clocks}
    for kind, flag in BREACH_FLAG.items():
        if getattr(ticket, flag):
            continue
        if kind in running:
            clock, until = running[kind], ticket.sla_paused_at or now
        elif kind in was_running:
            until = (ticket.first_response_at if kind == FIRST_RESPONSE else None) or ticket.resolved_at or now
            started_at = ticket.created_at
            if kind == RESOLUTION:
                started_at = ticket.resolution_started_at or ticket.created_at
            clock = _clock(ticket, kind, started_at, ticket.sla_paused_seconds, policy, schedule)
        else:
            continue
        if clock.due_at <= until:
            setattr(ticket, flag, True)


def check_moments(clock: Clock, policy: SLAPolicy, schedule: Schedule) -> list[tuple[int, datetime]]:
    """(percent, moment) for each warning threshold and 100 for the breach; follow-up only falls due."""
    if clock.kind == FOLLOW_UP:
        return [(100, clock.due_at)]
    percents = sorted({*policy.warning_thresholds, 100})
    # One look-up of the clock's start for all its warnings (the sweep computes tens of thousands of these).
    moments = iter(
        schedule.add_each(
            clock.started_at, [clock.target_seconds * p / 100 + clock.paused_seconds for p in percents if p != 100]
        )
    )
    return [(p, clock.due_at if p == 100 else next(moments)) for p in percents]


def sla_refresh(ticket: Ticket, *, now: datetime | None = None, context: SLAContext | None = None) -> dict:
    """Recompute the ticket's policy, due times, state, next check and plan in place; return the changes
    ({field: [old, new]}) so the caller can save them and put them on the timeline."""
    now = now or timezone.now()
    context = context or SLAContext.load(now)
    before = {field: getattr(ticket, field) for field in SLA_FIELDS}
    sla_recompute(ticket, now=now, context=context)
    return {
        field: [_plain(before[field]), _plain(getattr(ticket, field))]
        for field in SLA_FIELDS
        if before[field] != getattr(ticket, field)
    }


# A running clock with its (percent, moment) checks, as check_moments gives them.
Checks = list[tuple[Clock, list[tuple[int, datetime]]]]


def sla_recompute(ticket: Ticket, *, now: datetime, context: SLAContext) -> None:
    """sla_refresh without the list of changes (the sweep compares the columns it writes itself)."""
    was_running = {kind for kind in BREACH_FLAG if getattr(ticket, DUE_FIELD[kind]) is not None}
    policy = context.policy_for(ticket)
    ticket.sla_policy = policy
    for field in DUE_FIELD.values():
        setattr(ticket, field, None)
    ticket.sla_next_check_at = ticket.sla_plan = None
    clocks = []
    if policy is not None:
        schedule = context.schedule(policy)
        try:
            clocks = running_clocks(ticket, policy, schedule)
        except CalendarHasNoWorkingTime:
            # A calendar saved before its hours were filled in must not block intake: no SLA until it is.
            logger.warning("SLA policy %s uses calendar %s without working time", policy, policy.calendar)
            policy = ticket.sla_policy = None
    if policy is None:
        ticket.sla_state = SLAState.NONE
        return
    _flag_breaches(ticket, clocks, was_running, policy, schedule, now)
    if not clocks:
        ticket.sla_state = SLAState.NONE
        return
    checks = [(clock, check_moments(clock, policy, schedule)) for clock in clocks]
    for clock, _moments in checks:
        setattr(ticket, DUE_FIELD[clock.kind], clock.due_at)
    if ticket.status == Status.WAITING_CUSTOMER:
        ticket.sla_state = SLAState.PAUSED
        return
    # The running ticket's state is read from its plan, by the rule the sweep applies to a stored plan.
    plan = ticket.sla_plan = sla_plan(policy, checks, context.promo_next)
    ticket.sla_state = plan_state(plan, epoch_us(now))
    moments = [moment for _clock, clock_moments in checks for _percent, moment in clock_moments]
    # A moment already passed may not have been notified yet: let the next sweep look now.
    if any(moment <= now for moment in moments):
        ticket.sla_next_check_at = now
    else:
        ticket.sla_next_check_at = min([*moments, context.promo_next] if context.promo_next else moments)


# Moments in a plan are whole microseconds since the epoch: exact, and compared without making datetimes.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def epoch_us(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def from_epoch_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def sla_plan(policy: SLAPolicy, checks: Checks, recheck_at: datetime | None) -> dict:
    """What the sweep will do at the ticket's coming moments, stored with its next check (SLACheck.plan) so
    the sweep need not recompute the clocks: the policy; for each running clock its kind, its start (as the
    notices' dedupe keys quote it, in UTC) and due time (as the notices show it), and the (percent, moment)
    of its warnings and breach in order; and `recheck`, the next big-promo start or end, when the policy
    itself may change and the sweep recomputes the ticket. Whatever else moves the clocks (a message, a
    status, a classification, a policy or calendar edit) refreshes the ticket and writes a new plan."""
    return {
        "policy": policy.pk,
        "recheck": epoch_us(recheck_at) if recheck_at else None,
        "clocks": [
            [clock.kind, clock.started_at.astimezone(UTC).isoformat(), clock.due_at.isoformat(),
             [[percent, epoch_us(moment)] for percent, moment in moments]]
            for clock, moments in checks
        ],
    }


# What plan_advance sets.
ADVANCED_FIELDS = ("sla_state", "first_response_breached", "resolution_breached")


def plan_state(plan: dict, now_us: int) -> str:
    """The SLA state of a running ticket at `now_us` from its plan's moments (a clock's are in order: its first
    warning first, its breach last): breached once a response or resolution clock's due time passed, warning
    once one passed its first warning. The follow-up clock only falls due: it sets no state."""
    state = SLAState.ON_TRACK
    for kind, _started, _due, moments in plan["clocks"]:
        if kind == FOLLOW_UP:
            continue
        if moments[-1][1] <= now_us:
            return SLAState.BREACHED
        if moments[0][1] <= now_us:
            state = SLAState.WARNING
    return state


def plan_advance(ticket: Ticket, plan: dict, now_us: int) -> None:
    """Set the SLA state and breach flags as a refresh would at `now_us` (the ticket is running: a paused
    one has no plan); the flags as _flag_breaches sets them for running clocks, which a test holds equal."""
    ticket.sla_state = plan_state(plan, now_us)
    for kind, _started, _due, moments in plan["clocks"]:
        if kind in BREACH_FLAG and moments[-1][1] <= now_us:
            setattr(ticket, BREACH_FLAG[kind], True)


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, SLAPolicy):
        return value.name
    return value


def sla_on_status_change(ticket: Ticket, *, from_status: str, actor, now: datetime) -> None:
    """Pause, resume, stop and restart clocks for a status change (called by tickets/workflow.py
    inside its transaction, after the new status and its event are saved)."""
    context = SLAContext.load(now)
    events = []
    if ticket.status == Status.WAITING_CUSTOMER and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
        # We are waiting on them: we have answered, so no response is owed until they write.
        ticket.next_response_started_at = None
        events.append(("sla_paused", note("Waiting for the customer: SLA clocks paused.")))
    elif from_status == Status.WAITING_CUSTOMER and ticket.sla_paused_at is not None:
        policy = context.policy_for(ticket)
        paused = int(context.schedule(policy).between(ticket.sla_paused_at, now)) if policy else 0
        ticket.sla_paused_seconds += paused
        ticket.sla_paused_at = None
        resumed = gettext_noop("SLA clocks resumed; %(minutes)d business minutes paused were deducted.")
        events.append(("sla_resumed", note(resumed, minutes=paused // 60)))
    if ticket.status == Status.IN_PROGRESS and from_status in (Status.RESOLVED, Status.CLOSED):
        # Reopened: a new resolution clock from now.
        ticket.resolution_started_at, ticket.sla_paused_seconds = now, 0
        events.append(("sla_started", note("Reopened: the resolution clock starts again.")))
    changes = sla_refresh(ticket, now=now, context=context)
    sla_save(ticket)
    for action, reason in events:
        event_record(
            ticket=ticket, actor=actor, action=action, reason=reason, changes=changes if action != "sla_paused" else {}
        )
    if changes and not events:
        event_record(ticket=ticket, actor=actor, action="sla_recomputed", changes=changes)


def sla_after_change(ticket: Ticket, *, actor, reason: str = "", action: str = "sla_recomputed") -> None:
    """Recompute after intake, a message or a classification and save; a timeline event when dues moved."""
    changes = sla_refresh(ticket)
    if changes:
        sla_save(ticket, also=("updated_at",))
        event_record(ticket=ticket, actor=actor, action=action, changes=changes, reason=reason)


def sla_save(ticket: Ticket, *, also: tuple[str, ...] = ()) -> None:
    """Save what a refresh set: the ticket's SLA columns (and `also`) and its next check."""
    ticket.save(update_fields=[*SLA_COLUMNS, *also])
    sla_checks_save([ticket])
