"""Shared REST framework pieces: stable cursor pagination and uniform JSON errors."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class StableCursorPagination(CursorPagination):
    # Cursor pagination needs a unique ordering; id breaks ties between equal timestamps.
    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc, context):
    """Every error is JSON: {"detail": ..., "code": ...} plus field messages for validation."""
    from tickets.workflow import TransitionRefused

    if isinstance(exc, TransitionRefused):
        # A refused lifecycle move (ticket or subtask): 409 with the reason; nothing was changed.
        return conflict(str(exc), exc.code, status=exc.status, action=exc.action, reason=exc.reason)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        data = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": "Invalid input.", "code": "invalid", "errors": data}
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", getattr(response.data["detail"], "code", "error"))
    return response


def conflict(detail: str, code: str, **extra) -> Response:
    return Response({"detail": detail, "code": code, **extra}, status=status.HTTP_409_CONFLICT)
