"""The reporting period: local dates in the shop's time zone, checked and bounded, as instants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.timezone import shop_timezone

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Sane calendar bounds: no desk has tickets outside them, and far dates break (year 1 minus a day
# overflows; before ~1900 zones have local-mean-time offsets like +08:05:43 that are not ISO 8601).
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


@dataclass(frozen=True)
class Period:
    """Local dates `start`..`end`, both included; as instants [start_at, end_at) in the shop's zone."""

    start: date
    end: date

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, *, today: date | None = None) -> Period:
        today = today or timezone.localdate(timezone=shop_timezone())
        return cls(start=today - timedelta(days=days - 1), end=today)

    @classmethod
    def from_dates(cls, start: date | None = None, end: date | None = None) -> Period:
        """The period asked for; a missing end is today, a missing start is 30 days before the end.
        Raises ValidationError keyed by the query parameter (`from`, `to`) at fault."""
        out_of_range = {
            parameter: _("Give a date between %(earliest)s and %(latest)s.")
            % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()}
            for parameter, day in (("from", start), ("to", end))
            if day is not None and not EARLIEST <= day <= LATEST
        }
        if out_of_range:
            raise ValidationError(out_of_range, code="out_of_range")
        end = end or timezone.localdate(timezone=shop_timezone())
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if end < start:
            raise ValidationError({"to": _("The end date is before the start date.")}, code="reversed")
        if (end - start).days + 1 > MAX_DAYS:
            raise ValidationError(
                {"to": _("A period can be at most %(max)d days long.") % {"max": MAX_DAYS}}, code="too_long"
            )
        return cls(start=start, end=end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=shop_timezone())

    @property
    def end_at(self) -> datetime:
        """Exclusive: midnight at the start of the day after `end` (23:59:59.999 on `end` still counts)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=shop_timezone())

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def as_query(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    def as_dict(self) -> dict:
        return {
            **self.as_query(),
            "start": self.start_at,
            "end": self.end_at,
            "days": self.days,
            "time_zone": settings.TIME_ZONE,
        }
