"""The agent's side of the follow-up: record a follow-up, give the customer their link."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..forms import FollowUpForm
from ..policies import ticket_get_for_user
from ..portal.links import customer_link_issue
from ..views import _attempt, desk_required
from .services import follow_up_record


def _back(pk):
    return redirect(reverse("tickets:detail", args=[pk]))


@require_POST
@desk_required
def follow_up_new(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        _attempt(request, lambda: follow_up_record(ticket=ticket, actor=request.user, **form.cleaned_data),
                 _("Follow-up recorded."))
    else:
        messages.error(request, _("Choose the channel and the result."))
    return _back(pk)


@require_POST
@desk_required
def customer_link(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    issued = {}

    def issue():
        issued["path"], issued["until"] = customer_link_issue(
            ticket=ticket, actor=request.user, renew=request.POST.get("renew") == "1"
        )

    if not _attempt(request, issue, _("Customer link ready.")):
        return _back(pk)
    url = request.build_absolute_uri(issued["path"])
    if request.htmx:
        list(messages.get_messages(request))  # shown in the panel instead
        return render(request, "tickets/partials/_customer_link.html", {"url": url, "until": issued["until"]})
    messages.info(request, _("Customer link (valid until %(until)s): %(url)s") % {
        "until": formats.date_format(issued["until"], "Y-m-d"), "url": url,
    })
    return _back(pk)
