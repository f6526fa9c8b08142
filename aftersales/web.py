"""Helpers every feature's views share: who may open a page, calling a service from a form, going back
to where the form came from."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from .states import ActionRefused, StaleVersion


def role_required(may_enter: Callable) -> Callable:
    """A view decorator: logged in, and `may_enter(user)`; anyone else is refused (403)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not may_enter(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def render_hot(request, template_name: str, context: dict, *, status: int = 200) -> HttpResponse:
    """A hot page, rendered by the Jinja2 engine (templates/jinja2/<template_name>, which extends the desk's
    shell, templates/jinja2/base.html): tickets/jinja_env.py says why."""
    return render(request, template_name, context, status=status, using="jinja2")


def attempt(request, action: Callable, success: str) -> bool:
    """Run one service call; show its refusal to the user as a message instead of an error page."""
    try:
        action()
    except (ActionRefused, StaleVersion) as refused:
        messages.error(request, str(refused))
        return False
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
        return False
    messages.success(request, success)
    return True


def redirect_next(request, default: str):
    """Back to the page the form came from (`next`) when it is a path on this site, else to `default`.
    Any other address would make the desk an open redirect (a trusted link that lands on a phishing page);
    a bare view name is refused too (redirect() would try to reverse it and fail)."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


def with_version(form, version: int):
    """A refused stale form, rebased on the current version with the person's own input kept: saving
    again is a deliberate choice."""
    form.data = form.data.copy()
    form.data["version"] = version
    form.data["seen_at"] = timezone.now().isoformat()
    return form
