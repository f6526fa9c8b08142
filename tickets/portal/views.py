"""The customer's pages behind a signed link: no login, rate-limited per address, nothing shown
for a link that is tampered with, revoked or expired."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from aftersales.client_ip import client_ip

from ..followup.services import survey_submit
from ..models import Channel
from ..workflow import TransitionRefused
from .forms import EvidenceForm, SurveyForm
from .links import LinkExpired, LinkInvalid, ticket_for_link
from .selectors import customer_case
from .services import portal_evidence_add, portal_solution_confirm


def _rate(group, request):
    return settings.CUSTOMER_LINK_RATE


def customer_link_view(view):
    """Resolve the link first; every attempt, good or bad, counts against the address's rate."""

    @wraps(view)
    @ratelimit(key="aftersales.client_ip.ratelimit_key", rate=_rate, method=ratelimit.ALL, block=False)
    def wrapper(request, token, *args, **kwargs):
        if getattr(request, "limited", False):
            return render(request, "portal/invalid.html", {"reason": "rate"}, status=429)
        try:
            ticket = ticket_for_link(token)
        except LinkExpired:
            return render(request, "portal/invalid.html", {"reason": "expired"}, status=410)
        except LinkInvalid:
            return render(request, "portal/invalid.html", {"reason": "invalid"}, status=404)
        return view(request, token, ticket, *args, **kwargs)

    return wrapper


# What the customer is told when the desk refuses: bad input, or a case that moved on meanwhile
# (archived, already closed) while the page was open.
REFUSALS = (ValidationError, TransitionRefused)


def _errors(request, exc: ValidationError | TransitionRefused) -> None:
    for text in exc.messages if isinstance(exc, ValidationError) else [str(exc)]:
        messages.error(request, text)


@customer_link_view
def case(request, token, ticket):
    case = customer_case(ticket)
    return render(request, "portal/case.html", {
        "case": case, "token": token, "evidence_form": EvidenceForm(), "survey_form": SurveyForm(),
    })


@require_POST
@customer_link_view
def confirm_solution(request, token, ticket):
    try:
        portal_solution_confirm(
            ticket=ticket, solution_id=_int(request.POST.get("solution")), client_ip=client_ip(request)
        )
        messages.success(request, _("Thank you: your choice is recorded and we are putting it in motion."))
    except REFUSALS as exc:
        _errors(request, exc)
    return redirect("portal:case", token)


@require_POST
@customer_link_view
def add_evidence(request, token, ticket):
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            portal_evidence_add(ticket=ticket, text=form.cleaned_data["text"], upload=form.cleaned_data["file"])
            messages.success(request, _("Thank you: we have received it."))
        except REFUSALS as exc:
            _errors(request, exc)
        return redirect("portal:case", token)
    return render(request, "portal/case.html", {
        "case": customer_case(ticket), "token": token, "evidence_form": form, "survey_form": SurveyForm(),
    }, status=400)


@require_POST
@customer_link_view
def answer_survey(request, token, ticket):
    form = SurveyForm(request.POST)
    if form.is_valid():
        try:
            survey_submit(ticket=ticket, channel=Channel.CUSTOMER_LINK, **form.cleaned_data)
            messages.success(request, _("Thank you for your answer."))
        except REFUSALS as exc:
            _errors(request, exc)
        return redirect("portal:case", token)
    return render(request, "portal/case.html", {
        "case": customer_case(ticket), "token": token, "evidence_form": EvidenceForm(), "survey_form": form,
    }, status=400)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
