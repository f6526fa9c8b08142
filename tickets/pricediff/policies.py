"""Who may upload, read, run and decide price-difference batches."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from ..policies import is_finance_staff, is_supervisor
from .models import PriceDiffBatch, PriceDiffRow

Row = PriceDiffRow.Status
BatchStatus = PriceDiffBatch.Status


# --- access -------------------------------------------------------------------------------------


def pricediff_require_supervisor(user) -> None:
    """Uploading and running bulk refunds is a supervisor's tool."""
    if not is_supervisor(user):
        raise PermissionDenied


def pricediff_can_read(user) -> bool:
    """Supervisors, and finance, who approves batches and pays them from the batch's report."""
    return is_supervisor(user) or is_finance_staff(user)


def pricediff_can_decide(user, batch: PriceDiffBatch) -> bool:
    """A second person approves: a supervisor who did not upload the batch, or finance. Never the uploader."""
    return pricediff_can_read(user) and batch.uploaded_by_id != user.pk


def pricediff_require_reader(user) -> None:
    if not pricediff_can_read(user):
        raise PermissionDenied


def pricediff_batch_get_for_user(*, user, batch_id: int) -> PriceDiffBatch:
    pricediff_require_reader(user)
    return get_object_or_404(PriceDiffBatch.objects.select_related("uploaded_by", "decided_by"), pk=batch_id)


def approval_total_limit() -> Decimal:
    """Shop-wide: a batch refunding more than this in total needs a second person's approval."""
    return Decimal(str(settings.PRICEDIFF_APPROVAL_TOTAL))
