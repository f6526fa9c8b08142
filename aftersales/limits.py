"""Limits on what a person or a machine can send, in one place.

- Text: the customer's words and messages are capped (TEXT_MAX_CHARS): a ticket page must cost the same
  whatever was pasted into it, and nobody writes 10,000 characters to a shop.
- Control characters (C0, but tab, line feed and carriage return) are refused anywhere in a request:
  NUL breaks PostgreSQL text (a 500 before this) and the rest are never typed by a person. The signed
  platform intake is the exception: it drops them from the payload instead (without_control_characters).
- Errors on /api/ are JSON in the API's own format, including the ones Django raises before any view
  runs (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields).
"""

import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, ValidationError
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

TEXT_MAX_CHARS = 10_000
# Views that read request.body themselves (the signed intake webhook); a form body there is refused by
# the view (JSON only), never parsed here.
RAW_BODY_PATHS = frozenset({"/api/v1/intake/", "/api/v1/inbound-mail/"})

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a JSON body control characters can only arrive escaped (\u0000); tab, LF and CR are fine.
_ESCAPED_CONTROL = re.compile(r"\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")


def without_control_characters(value):
    """A machine's payload, cleaned instead of refused (a platform's case is never lost to an invisible
    character): control characters dropped from every key and string, at any depth."""
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, dict):
        return {_CONTROL.sub("", key): without_control_characters(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_control_characters(item) for item in value]
    return value


def validate_text_length(value: str, *, field: str, limit: int = TEXT_MAX_CHARS) -> None:
    if len(value) > limit:
        raise ValidationError(
            {field: _("At most %(limit)d characters (this has %(count)d).") % {"limit": limit, "count": len(value)}}
        )


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _refusal(request, detail: str, code: str, status: int = 400):
    if _is_api(request):
        return JsonResponse({"detail": detail, "code": code}, status=status)
    return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")


class RefuseControlCharactersMiddleware:
    """Answer 400 to a request carrying a control character in its query, form fields or JSON body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            field = self._field_with_control(request)
        except (RequestDataTooBig, TooManyFieldsSent) as error:
            if _is_api(request):
                return bad_request(request, error)
            raise  # Django's own 400 page (handler400) for the browser
        if field is not None:
            return _refusal(request, _("“%(field)s” contains a control character, which is not accepted.")
                            % {"field": field}, "control_character")
        return self.get_response(request)

    @staticmethod
    def _field_with_control(request) -> str | None:
        for name, values in request.GET.lists():
            if _CONTROL.search(name) or any(_CONTROL.search(value) for value in values):
                return name[:50]
        if request.method != "POST":
            return None
        content_type = request.content_type or ""
        if request.path in RAW_BODY_PATHS:
            return None  # reads its raw body itself (a signature over it) and cleans what it keeps
        if content_type == "application/json":
            # Reading the body here also holds JSON to DATA_UPLOAD_MAX_MEMORY_SIZE (DRF reads the stream).
            body = request.body.decode("utf-8", "replace")
            return "body" if _CONTROL.search(body) or _ESCAPED_CONTROL.search(body) else None
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name, values in request.POST.lists():
                if _CONTROL.search(name) or any(_CONTROL.search(value) for value in values):
                    return name[:50]
        return None


def bad_request(request, exception=None, template_name="400.html"):
    """handler400: JSON on /api/ (413 for a body over the limit), Django's page elsewhere."""
    from django.views.defaults import bad_request as django_bad_request

    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20
            return _refusal(request, _("The request body is larger than %(mb)d MB.") % {"mb": limit},
                            "too_large", status=413)
        return _refusal(request, _("Bad request."), "bad_request")
    return django_bad_request(request, exception, template_name)
