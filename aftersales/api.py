"""Shared REST framework pieces: stable cursor pagination and uniform JSON errors."""

import copy

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .filters import BIGINT_MAX, BIGINT_MIN
from .states import ActionRefused


class StrictPageSize:
    """A page size is one whole number from 1 to max_page_size; anything else is refused, as the schema
    says (DRF would quietly use the default or the maximum)."""

    def get_page_size(self, request):
        given = request.query_params.getlist(self.page_size_query_param)
        if given and (len(given) > 1 or not given[0].isdigit() or not 1 <= int(given[0]) <= self.max_page_size):
            raise exceptions.ValidationError({self.page_size_query_param: [
                _("Give one whole number from 1 to %(max)d.") % {"max": self.max_page_size}]})
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class SharedFieldSetup:
    # For input serializers made on every request of a hot path (the signed webhooks): each instance gets a
    # shallow copy of the declared fields instead of DRF's deep copy, which runs every field's __init__ again
    # (half the intake event's validation time). Only for serializers that never change their fields per
    # instance (none added, removed or altered in __init__ or from the context): the copies share what the
    # declared fields hold (validators, choices, a ListField's child), which validation only reads.
    # tests/api/test_shared_fields.py holds validation to what the deep copy gives.

    def get_fields(self):
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}


class StrictInput:
    # For input serializers, so a request means what its schema says (see document_input_rules):
    # - a field the operation does not take is refused, not silently dropped (a typo like "ammount" would
    #   otherwise change nothing and answer 200);
    # - in a JSON body every value has its JSON type: `true`, not 1 or "yes"; 5, not "5"; text as a string.
    #   DRF would quietly convert them.
    # A serializer for a contract that grows on the other side (the platforms' intake) sets
    # `refuses_unknown_fields = False` and keeps the type checks. (Comments, not a docstring: drf-spectacular
    # would show a docstring as the description of every serializer that mixes this in.)

    refuses_unknown_fields = True

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            writable = {name: field for name, field in self.fields.items() if not field.read_only}
            unknown = [key for key in data.keys() if key not in writable] if self.refuses_unknown_fields else []
            errors = {key[:50]: [_("This operation takes no such field.")] for key in unknown}
            if not hasattr(data, "getlist"):  # JSON (a multipart upload's fields are all text)
                # JSON has one number type: 5.0 is the whole number 5 (JSON Schema, OpenAPI 3.1 say so too).
                data = {key: int(value) if isinstance(value, float) and value.is_integer()
                        and isinstance(writable.get(key), WHOLE_NUMBER_FIELDS) else value
                        for key, value in data.items()}
                errors |= {name: [message] for name, field in writable.items()
                           if name in data and (message := _json_type_error(field, data[name]))}
            if errors:
                raise exceptions.ValidationError(errors)
        return super().to_internal_value(data)


WHOLE_NUMBER_FIELDS = (serializers.IntegerField, serializers.PrimaryKeyRelatedField)


def _json_type_error(field, value) -> str | None:
    if value is None:
        return None  # the field itself says whether null is allowed
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else _("Give true or false.")
    if isinstance(field, WHOLE_NUMBER_FIELDS):
        if not isinstance(value, int) or isinstance(value, bool):
            return _("Give a whole number.")
        return None if BIGINT_MIN <= value <= BIGINT_MAX else _("The number is too large.")
    if isinstance(field, (serializers.ListField, serializers.ManyRelatedField, serializers.MultipleChoiceField)):
        child = getattr(field, "child", None) or getattr(field, "child_relation", None)
        if not isinstance(value, list):
            return _("Give a list.")
        return next((error for item in value if child is not None and (error := _json_type_error(child, item))), None)
    if isinstance(field, (serializers.CharField, serializers.ChoiceField, serializers.DecimalField,
                          serializers.DateField, serializers.DateTimeField)):
        return None if isinstance(value, str) else _("Give text (a JSON string).")
    return None


class DecimalTextExtension(OpenApiSerializerFieldExtension):
    """A decimal sent as text: drf-spectacular's pattern admits "", "-" and "."; this one admits what DRF
    takes (at least one digit, no sign when the field's minimum is 0 or more, "" for null where null is
    allowed)."""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if "pattern" in schema and field.max_whole_digits:
            sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
            whole, places = field.max_whole_digits, field.decimal_places
            number = rf"{sign}(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})"
            schema["pattern"] = f"^(?:{number})?$" if field.allow_null else f"^{number}$"  # DRF reads "" as null
        return schema


class BlankChoiceExtension(OpenApiSerializerFieldExtension):
    """A read-only choice of a model field that may be blank answers "" too (an unclassified ticket's
    category); DRF drops allow_blank from read-only fields, so drf-spectacular would leave "" out."""

    target_class = "rest_framework.fields.ChoiceField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        model = getattr(getattr(field.parent, "Meta", None), "model", None)
        try:
            blank = field.read_only and model is not None and model._meta.get_field(field.source).blank
        except FieldDoesNotExist:
            blank = False
        if blank and "" not in schema.get("enum", [""]):
            schema["enum"] = [*schema["enum"], ""]
        return schema


class StableCursorPagination(StrictPageSize, CursorPagination):
    # Cursor pagination needs a unique ordering; id breaks ties between equal timestamps.
    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc, context):
    """Every error is JSON: {"detail": ..., "code": ...} plus field messages for validation."""
    if isinstance(exc, ActionRefused):
        # A refused lifecycle move (ticket or subtask): 409 with the reason; nothing was changed.
        return conflict(str(exc), exc.code, status=exc.status, action=exc.action, reason=exc.reason)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_with_codes(exc.error_dict if hasattr(exc, "error_dict") else
                                                     {"detail": exc.error_list}))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        data = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        if _names_only_missing_objects(exc.get_codes()):
            # Well-formed input naming a customer, order or user that does not exist (or is not this user's
            # to see) is a 404, as the same object's own URL would be; `errors` says which field named it.
            response.data = {"detail": _("Not found."), "code": "not_found", "errors": data}
            response.status_code = status.HTTP_404_NOT_FOUND
        else:
            response.data = {"detail": _("Invalid input."), "code": "invalid", "errors": data}
            response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", getattr(response.data["detail"], "code", "error"))
    return response


def _with_codes(error_dict: dict) -> dict:
    """A Django ValidationError's messages with their codes (a missing object's "does_not_exist" included)."""
    return {field: [exceptions.ErrorDetail(message, code=error.code or "invalid")
                    for error in errors for message in error.messages]
            for field, errors in error_dict.items()}


def _names_only_missing_objects(codes) -> bool:
    def flat(node):
        if isinstance(node, dict):
            return [code for value in node.values() for code in flat(value)]
        if isinstance(node, list):
            return [code for value in node for code in flat(value)]
        return [node]

    found = flat(codes)
    return bool(found) and all(code == "does_not_exist" for code in found)


def conflict(detail: str, code: str, **extra) -> Response:
    return Response({"detail": detail, "code": code, **extra}, status=status.HTTP_409_CONFLICT)


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error answer: what went wrong, a stable code, and per-field messages for invalid input.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {}},
    },
    "required": ["detail"],
    "additionalProperties": True,
}
ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `errors` names each field and what is wrong with it.",
    "401": "No valid credentials.",
    "403": "This user may not do this.",
    "404": "No such object, or not one this user may see.",
    "409": "Refused by the object's current state (for example a lifecycle move that is not allowed now).",
    "412": "Based on an older version: the answer carries the current one.",
    "413": "The request body is larger than the server accepts.",
    "429": "Too many requests: wait and retry.",
}
UNSAFE_METHODS = {"post", "put", "patch", "delete"}
VERSIONED_PATHS = ("/api/v1/tickets/{id}", "/api/v1/subtasks/{id}")


# What RefuseControlCharactersMiddleware lets through, as a JSON Schema pattern.
_CONTROL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f"
NO_CONTROL_CHARACTERS = f"^[^{_CONTROL}]*$"
# A required text (minLength 1): DRF strips whitespace, Python's str.strip() kind (NEL and the ideographic
# space included), so at least one character must be something else.
_SPACE = "\\s\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NOT_BLANK = f"^[^{_CONTROL}]*[^{_CONTROL}{_SPACE}][^{_CONTROL}]*$"


def document_input_rules(result, generator, request, public):
    """drf-spectacular postprocessing hook: the schema says what aftersales.limits and StrictInput
    enforce. Text in queries and bodies carries no control characters, integers fit a database id, bodies take
    only their own fields.
    The signed intake (RAW_BODY_PATHS) takes platforms' payloads as they come and is left as it is."""
    from .limits import RAW_BODY_PATHS

    schemas = result.get("components", {}).get("schemas", {})
    for path, operations in result.get("paths", {}).items():
        if path in RAW_BODY_PATHS:
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    _bound_input(parameter.get("schema", {}), schemas)
                    if parameter["name"] != "page_size":
                        parameter["schema"] = _or_empty(parameter.get("schema", {}))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                body = _resolve(media.get("schema", {}), schemas)
                body["additionalProperties"] = False
                _bound_input(body, schemas)
    return result


def _or_empty(schema: dict) -> dict:
    """An empty query value means "not given" (as a browser form sends an unset filter)."""
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], *([""] if "" not in schema["enum"] else [])]}
    if schema.get("type") == "array":
        return {**schema, "items": _or_empty(schema.get("items", {}))}
    if schema.get("type") == "string" and "format" not in schema and schema.get("pattern") in (
            None, NO_CONTROL_CHARACTERS):
        return schema  # "" is already one
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def _resolve(schema: dict, schemas: dict) -> dict:
    ref = schema.get("$ref", "")
    return schemas[ref.rsplit("/", 1)[-1]] if ref.startswith("#/components/schemas/") else schema


def _bound_input(schema: dict, schemas: dict) -> None:
    schema = _resolve(schema, schemas)
    if schema.get("type") == "string" and not {"enum", "format", "pattern"} & schema.keys():
        schema["pattern"] = NOT_BLANK if schema.get("minLength", 0) >= 1 else NO_CONTROL_CHARACTERS
    if schema.get("type") == "integer":  # ids and counts are database integers
        schema.setdefault("minimum", BIGINT_MIN)
        schema.setdefault("maximum", BIGINT_MAX)
    for child in (*schema.get("properties", {}).values(), *([schema["items"]] if "items" in schema else ()),
                  *schema.get("allOf", ()), *schema.get("oneOf", ()), *schema.get("anyOf", ())):
        _bound_input(child, schemas)


def document_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the errors it can answer, in the
    one JSON error format of `exception_handler` above (so clients and schemathesis know them)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in UNSAFE_METHODS | {"get"}:
                continue
            parameters = operation.get("parameters", [])
            codes = {"429"}
            if operation.get("security") or path.endswith("/intake/"):
                codes |= {"401", "403"}
            if any(p["in"] != "path" for p in parameters) or "requestBody" in operation:
                codes.add("400")
            # An id in the path or the body, or a page (cursor) that is not there.
            if "{" in path or "requestBody" in operation or any(p["name"] in ("cursor", "page") for p in parameters):
                codes.add("404")
            if method in UNSAFE_METHODS:
                codes.add("409")
                if "requestBody" in operation:
                    codes.add("413")
                if path.startswith(VERSIONED_PATHS):
                    codes.add("412")
            responses = operation.setdefault("responses", {})
            for code in codes | {code for code in responses if code in ERROR_DESCRIPTIONS}:
                response = responses.setdefault(code, {"description": ERROR_DESCRIPTIONS[code]})
                response.setdefault("content", {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}})
    return result


def webhooks_as_extension(result, generator, request, public):
    """drf-spectacular writes WEBHOOKS under `webhooks`, which only OpenAPI 3.1 knows; the desk's schema is 3.0
    (where a JSON Schema integer may not be written 7.0), so they go under `x-webhooks`, as ReDoc reads them."""
    if "webhooks" in result:
        result["x-webhooks"] = result.pop("webhooks")
    return result
