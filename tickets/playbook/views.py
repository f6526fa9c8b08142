"""The playbook's forms on the ticket page (propose a solution, record the customer's agreement) and the
supervisor's approvals page."""


from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.web import attempt

from ..forms import (
    ApprovalDecisionForm,
    ConfirmSolutionForm,
    SolutionForm,
)
from ..models import ApprovalRequest
from ..policies import (
    approval_get_for_user,
    can_decide_approvals,
    desk_required,
    ticket_get_for_user,
)
from . import services as playbook


def _back(pk):
    return redirect(reverse("tickets:detail", args=[pk]))


@require_POST
@desk_required
def solution_new(request, pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    form = SolutionForm(request.POST)
    if form.is_valid():
        attempt(request, lambda: playbook.solution_propose(ticket=ticket, actor=request.user, **form.cleaned_data),
                 _("Solution proposed."))
    else:
        messages.error(request, _("Check the solution's fields."))
    return _back(pk)


@require_POST
@desk_required
def solution_confirm(request, pk, solution_pk):
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
    solution = get_object_or_404(ticket.solutions, pk=solution_pk)
    form = ConfirmSolutionForm(request.POST)
    if form.is_valid():
        attempt(request, lambda: playbook.solution_confirm(solution=solution, actor=request.user,
                                                            **form.cleaned_data), _("Agreement recorded."))
    else:
        messages.error(request, _("Record the channel and the exact words agreed."))
    return _back(pk)


@desk_required
def approvals(request):
    if not can_decide_approvals(request.user):
        raise PermissionDenied
    pending = (ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING)
               .select_related("ticket", "requested_by", "solution").order_by("created_at"))
    decided = (ApprovalRequest.objects.exclude(status=ApprovalRequest.Status.PENDING)
               .select_related("ticket", "requested_by", "decided_by").order_by("-decided_at")[:30])
    return render(request, "tickets/approvals.html", {"pending": pending, "decided": decided,
                                                      "form": ApprovalDecisionForm()})


@require_POST
@desk_required
def approval_decide(request, pk):
    approval = approval_get_for_user(user=request.user, approval_id=pk, for_decision=True)
    form = ApprovalDecisionForm(request.POST)
    if form.is_valid():
        try:
            playbook.approval_decide(approval=approval, actor=request.user,
                                     approve=form.cleaned_data["decision"] == "approve",
                                     reason=form.cleaned_data["reason"])
            messages.success(request, _("Decision recorded."))
        except PermissionDenied as denied:
            messages.error(request, str(denied) or _("You may not decide this request."))
        except ValidationError as error:
            for text in error.messages:
                messages.error(request, text)
    return redirect("tickets:approvals")
