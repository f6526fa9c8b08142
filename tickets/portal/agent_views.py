"""The agent's side of the customer link: issue or renew it from the ticket page."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.web import attempt
from customers.masking import mask_phone

from ..outbound.sms import customer_link_text, phone_of
from ..policies import desk_required, ticket_get_for_user
from .links import customer_link_issue


def _back(pk):
    return redirect(reverse("tickets:detail", args=[pk]))


@require_POST
@desk_required
def customer_link(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    issued = {}

    def issue():
        issued["path"], issued["until"] = customer_link_issue(
            ticket=ticket, actor=request.user, renew=request.POST.get("renew") == "1"
        )

    if not attempt(request, issue, _("Customer link ready.")):
        return _back(pk)
    url = request.build_absolute_uri(issued["path"])
    if request.htmx:
        list(messages.get_messages(request))  # shown in the panel instead
        return render(request, "tickets/partials/_customer_link.html", {"url": url, "until": issued["until"]})
    messages.info(request, _("Customer link (valid until %(until)s): %(url)s") % {
        "until": formats.date_format(issued["until"], "Y-m-d"), "url": url,
    })
    return _back(pk)


@require_POST
@desk_required
def customer_link_sms(request, pk):
    """Text the customer their link (issued now, or renewed when asked); a refusal is shown as a message."""
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    attempt(request, lambda: customer_link_text(
        ticket=ticket, actor=request.user, site=request.build_absolute_uri("/"), renew=request.POST.get("renew") == "1",
    ), _("Customer link texted to %(phone)s.") % {"phone": mask_phone(phone_of(ticket.customer.phone))})
    return _back(pk)
