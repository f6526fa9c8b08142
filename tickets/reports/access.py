"""The report catalogue behind the access rule (`policies.can_read_reports`)."""

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ..policies import can_read_reports
from .base import Report
from .periods import Period
from .queries import REPORTS


def reports_check_access(user) -> None:
    if not can_read_reports(user):
        raise PermissionDenied


def report_get_for_user(*, user, name: str) -> Callable[[Period], Report]:
    """The report builder called `name`; refused (403) before an unknown name answers 404, so the
    catalogue is not revealed to those who may not read it."""
    reports_check_access(user)
    try:
        return REPORTS[name]
    except KeyError:
        raise Http404 from None
