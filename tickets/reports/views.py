"""The reports page and its exports: access check, period form, the queries, render or file."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import exports
from .access import report_get_for_user, reports_check_access
from .forms import PeriodForm
from .periods import Period
from .queries import report_run, reports_run_all

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def reports_page(request):
    reports_check_access(request.user)
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return render(request, "reports/reports.html", {"form": form, "reports": [], "period": None})
    period = form.cleaned_data["period"]
    reports = reports_run_all(period)
    return render(request, "reports/reports.html", {
        "form": PeriodForm.showing(period),
        "period": period,
        "query": urlencode(period.as_query()),
        "reports": reports,
        "charts": {report.name: report.chart for report in reports},
    })


@login_required
def report_csv(request, name):
    report_get_for_user(user=request.user, name=name)
    period = _period_or_none(request)
    if period is None:
        return _bad_period()
    return _attachment(exports.report_csv(report_run(name, period)), "text/csv; charset=utf-8",
                       exports.export_filename(name, period, "csv"))


@login_required
def report_xlsx(request, name):
    report_get_for_user(user=request.user, name=name)
    period = _period_or_none(request)
    if period is None:
        return _bad_period()
    return _attachment(exports.reports_xlsx([report_run(name, period)], period), XLSX,
                       exports.export_filename(name, period, "xlsx"))


@login_required
def reports_xlsx(request):
    reports_check_access(request.user)
    period = _period_or_none(request)
    if period is None:
        return _bad_period()
    return _attachment(exports.reports_xlsx(reports_run_all(period), period), XLSX,
                       exports.export_filename("reports", period, "xlsx"))


def _period_or_none(request) -> Period | None:
    form = PeriodForm(request.GET)
    return form.cleaned_data["period"] if form.is_valid() else None


def _bad_period() -> HttpResponse:
    return HttpResponseBadRequest(
        _("Invalid period: give `from` and `to` as YYYY-MM-DD, `to` not before `from`, at most 366 days."),
        content_type="text/plain; charset=utf-8",
    )


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
