"""ETag / If-Match on tickets and subtasks: a write based on a stale copy is refused with 412."""

from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from ..workflow import StaleVersion


class VersionedWrites:
    """Mixin for viewsets whose objects carry `version`.

    Responses with a `version` field get it as a strong ETag. Writes may name the version they
    were based on in `If-Match` or a `version` field; an older one answers 412 with the current state.
    """

    def expected_version(self, request) -> int | None:
        raw = request.headers.get("If-Match", "").strip()
        raw = raw.removeprefix("W/").strip('"') if raw and raw != "*" else request.data.get("version")
        if raw in (None, ""):
            return None
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise exceptions.ValidationError({"version": [_("A whole number, as sent in the ETag.")]}) from None

    def current_representation(self) -> dict:
        return self.get_serializer(self.get_object()).data

    def handle_exception(self, exc):
        if isinstance(exc, StaleVersion):
            return Response(
                {"detail": str(exc), "code": "stale_version", "current_version": exc.current,
                 "current": self.current_representation()},
                status=status.HTTP_412_PRECONDITION_FAILED,
            )
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        if isinstance(data, dict) and "version" in data and "current" not in data:
            response["ETag"] = f'"{data["version"]}"'
        return response
