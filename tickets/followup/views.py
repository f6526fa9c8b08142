"""The agent's side of the follow-up: record one."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.web import attempt

from ..forms import FollowUpForm
from ..policies import desk_required, ticket_get_for_user
from .services import follow_up_record


def _back(pk):
    return redirect(reverse("tickets:detail", args=[pk]))


@require_POST
@desk_required
def follow_up_new(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        attempt(request, lambda: follow_up_record(ticket=ticket, actor=request.user, **form.cleaned_data),
                _("Follow-up recorded."))
    else:
        messages.error(request, _("Choose the channel and the result."))
    return _back(pk)
