from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from orders.models import PriceDiffBatch

from .policies import is_supervisor


@login_required
def batch_list(request):
    if not is_supervisor(request.user):
        raise PermissionDenied
    return render(request, "tickets/pricediff_list.html", {"batches": PriceDiffBatch.objects.all()[:50]})
