"""Supervisor pages for bulk price-difference refunds (退差): upload, preview, run, progress, reports.

Every page and download goes through the access functions of tickets/pricediff/policies.py: supervisors upload and
run; finance and supervisors read batches and reports; a second person approves a batch above a limit.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from ..policies import can_run_price_differences
from . import policies, selectors
from . import services as pricediff
from .upload import MAX_FILE_BYTES, PROBLEMS_SHOWN, price_protection_days


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=(("approve", gettext_lazy("Approve")), ("reject", gettext_lazy("Reject"))))
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=300)


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or XLSX file"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError(_("The file is larger than %(mb)d MB: split it.")
                                  % {"mb": MAX_FILE_BYTES // 2**20})
        return upload


def _list_page(request, form, status=200):
    return render(request, "tickets/pricediff_list.html",
                  {"form": form if can_run_price_differences(request.user) else None,
                   "batches": selectors.pricediff_batch_list(),
                   "price_protection_days": price_protection_days(),
                   "approval_total": policies.approval_total_limit()}, status=status)


@login_required
def batch_list(request):
    policies.pricediff_require_reader(request.user)
    return _list_page(request, UploadForm())


@require_POST
@login_required
def batch_upload(request):
    policies.pricediff_require_supervisor(request.user)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch, created = pricediff.pricediff_preview(actor=request.user, file_name=upload.name,
                                                         content=upload.read())
        except ValidationError as error:
            form.add_error("file", error)
        else:
            if not created:
                messages.info(request, _("This file was uploaded before: here is its batch. Nothing is imported "
                                         "or refunded twice."))
            return redirect("tickets:pricediff_detail", pk=batch.pk)
    return _list_page(request, form, status=400)


def _progress_context(batch):
    return {"batch": batch, "percent": selectors.pricediff_progress(batch)}


@login_required
def batch_detail(request, pk):
    batch = policies.pricediff_batch_get_for_user(user=request.user, batch_id=pk)
    return render(request, "tickets/pricediff_detail.html", {
        **_progress_context(batch), **selectors.pricediff_batch_summary(batch),
        "problems_shown": PROBLEMS_SHOWN,
        "approval_reasons": pricediff.pricediff_approval_reasons(batch),
        "can_run": can_run_price_differences(request.user),
        "can_decide": policies.pricediff_can_decide(request.user, batch),
        "decision_form": DecisionForm(),
    })


@require_POST
@login_required
def batch_execute(request, pk):
    batch = policies.pricediff_batch_get_for_user(user=request.user, batch_id=pk)
    try:
        pricediff.pricediff_execute(batch=batch, actor=request.user)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        if batch.status == batch.Status.AWAITING_APPROVAL:
            messages.info(request, _("Above a limit: the batch waits for another supervisor or finance to approve it."))
        else:
            messages.success(request, _("Refunding the valid rows: the progress bar follows the job."))
    return redirect("tickets:pricediff_detail", pk=pk)


@require_POST
@login_required
def batch_decide(request, pk):
    batch = policies.pricediff_batch_get_for_user(user=request.user, batch_id=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect("tickets:pricediff_detail", pk=pk)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        pricediff.pricediff_decide(batch=batch, actor=request.user, approve=approve,
                                   reason=form.cleaned_data["reason"])
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        done = _("Approved: the refunds are running.") if approve else _("Rejected: nothing is paid.")
        messages.success(request, done)
    return redirect("tickets:pricediff_detail", pk=pk)


@login_required
def batch_progress(request, pk):
    """The progress partial: htmx polls it every second while the batch runs."""
    batch = policies.pricediff_batch_get_for_user(user=request.user, batch_id=pk)
    if request.htmx and batch.status != batch.Status.RUNNING:
        # The job finished (or stopped): reload the whole page so its header, counts and actions agree.
        return HttpResponseClientRefresh()
    context = {**_progress_context(batch), "ticket": selectors.pricediff_ticket_of(batch)}
    return render(request, "tickets/pricediff_progress.html", context)


def _csv_download(batch, name: str, problems_only: bool):
    response = StreamingHttpResponse(selectors.pricediff_report_csv(batch, problems_only=problems_only),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="pricediff-{batch.pk}-{name}.csv"'
    return response


@login_required
def batch_problems_csv(request, pk):
    batch = policies.pricediff_batch_get_for_user(user=request.user, batch_id=pk)
    return _csv_download(batch, "errors", problems_only=True)


@login_required
def batch_report_csv(request, pk):
    batch = policies.pricediff_batch_get_for_user(user=request.user, batch_id=pk)
    return _csv_download(batch, "report", problems_only=False)
