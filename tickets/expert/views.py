"""Pages and forms of the expert agent's tools: save, rename and delete views of the queue; the macros page
(everyone who works the queue reads it, supervisors manage it). Applying a macro is a form of the ticket page
(tickets.views.ticket)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.web import attempt, redirect_next

from ..policies import desk_required
from . import services
from .forms import MacroForm, RenameViewForm, SavedViewForm
from .models import Macro
from .policies import can_manage_macros, can_use_expert_tools, saved_view_get_for_user
from .selectors import macros_for_agents


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for text in errors:
            messages.error(request, text)


@require_POST
@desk_required
def saved_view_create(request):
    if not can_use_expert_tools(request.user):
        raise PermissionDenied
    form = SavedViewForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        attempt(request, lambda: services.saved_view_create(owner=request.user, name=data["name"],
                                                            query=data["query"], shared=data["shared"]),
                _("View saved."))
    else:
        _form_errors(request, form)
    return redirect_next(request, reverse("tickets:queue"))


@require_POST
@desk_required
def saved_view_rename(request, pk):
    view = saved_view_get_for_user(user=request.user, view_id=pk, for_manage=True)
    form = RenameViewForm(request.POST)
    if form.is_valid():
        attempt(request, lambda: services.saved_view_rename(view=view, actor=request.user,
                                                            name=form.cleaned_data["name"]), _("View renamed."))
    else:
        _form_errors(request, form)
    return redirect_next(request, reverse("tickets:queue"))


@require_POST
@desk_required
def saved_view_delete(request, pk):
    view = saved_view_get_for_user(user=request.user, view_id=pk, for_manage=True)
    attempt(request, lambda: services.saved_view_delete(view=view, actor=request.user), _("View deleted."))
    return redirect_next(request, reverse("tickets:queue"))


@desk_required
def macro_list(request):
    """Every macro with what it does; supervisors also add one here (POST)."""
    if not can_use_expert_tools(request.user):
        raise PermissionDenied
    manager = can_manage_macros(request.user)
    form = MacroForm(request.POST or None) if manager else None
    if request.method == "POST":
        if not manager:
            raise PermissionDenied
        if form.is_valid() and attempt(request, lambda: services.macro_save(actor=request.user, **form.cleaned_data),
                                       _("Macro saved.")):
            return redirect("tickets:macros")
    return render(request, "tickets/macros.html", {"macros": macros_for_agents(), "form": form, "manager": manager})


@desk_required
def macro_edit(request, pk):
    if not can_manage_macros(request.user):
        raise PermissionDenied
    macro = get_object_or_404(Macro, pk=pk)
    form = MacroForm(request.POST or None, instance=macro)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if attempt(request, lambda: services.macro_save(actor=request.user, macro=macro, **data), _("Macro saved.")):
            return redirect("tickets:macros")
    return render(request, "tickets/macro_edit.html", {"macro": macro, "form": form})


@require_POST
@desk_required
def macro_delete(request, pk):
    if not can_manage_macros(request.user):
        raise PermissionDenied
    macro = get_object_or_404(Macro, pk=pk)
    attempt(request, lambda: services.macro_delete(actor=request.user, macro=macro), _("Macro deleted."))
    return redirect("tickets:macros")
