"""The supervisors' list of replies that did not reach the customer, and sending one again."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.web import attempt

from ..models import Delivery
from ..outbound.selectors import deliveries_undelivered
from ..outbound.service import delivery_resend
from ..policies import desk_required, is_supervisor, ticket_visible_or_404

PER_PAGE = 50


@desk_required
def undelivered(request):
    if not is_supervisor(request.user):
        raise PermissionDenied
    # Supervisors only: they read customers' addresses and numbers in full (tickets.policies.sees_unmasked_pii).
    page = Paginator(deliveries_undelivered(), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "tickets/undelivered.html", {"page": page})


@require_POST
@desk_required
def undelivered_resend(request, pk):
    if not is_supervisor(request.user):
        raise PermissionDenied
    delivery = get_object_or_404(Delivery.objects.select_related("message"), pk=pk)
    ticket_visible_or_404(user=request.user, ticket_id=delivery.message.ticket_id)
    if attempt(request, lambda: delivery_resend(delivery=delivery, actor=request.user),
               _("Queued to be sent again.")):
        return redirect("tickets:undelivered")
    messages.info(request, _("Set up the channel first (admin: mailboxes, platform chat outboxes)."))
    return redirect("tickets:undelivered")
