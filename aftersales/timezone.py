"""The shop's time zone: periods, days and due times are the shop's local ones, whatever zone a user has
activated."""

from zoneinfo import ZoneInfo

from django.conf import settings


def shop_timezone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)
