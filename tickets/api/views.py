from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from orders.selectors import order_get_by_number

from .. import services
from ..filters import TicketFilter
from ..policies import ensure_ticket_creator, ticket_get_for_user, tickets_visible_to
from ..selectors import ticket_list
from ..workflow import ticket_transition
from .closing import TicketClosingMixin
from .people import TicketPeopleMixin
from .playbook import TicketSolutionsMixin
from .serializers import (
    AttachmentSerializer,
    AttachmentUploadSerializer,
    ClassifySerializer,
    MessageCreateSerializer,
    MessageSerializer,
    StaleVersionSerializer,
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketListSerializer,
    TicketUpdateSerializer,
    TransitionRefusedSerializer,
    TransitionSerializer,
)
from .versioning import VersionedWrites


class TicketViewSet(
    VersionedWrites,
    TicketPeopleMixin,
    TicketSolutionsMixin,
    TicketClosingMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """After-sales tickets: list (filtered, cursor-paginated), intake, detail with timeline, transitions."""

    filterset_class = TicketFilter
    http_method_names = ["get", "post", "patch", "head", "options"]  # PATCH edits; no PUT, no DELETE

    def get_queryset(self):
        tickets = ticket_list(tickets_visible_to(self.request.user))
        return tickets.values(*TicketListSerializer.COLUMNS) if self.action == "list" else tickets

    def get_serializer_class(self):
        if self.action == "create":
            return TicketCreateSerializer
        if self.action == "list":
            return TicketListSerializer
        return TicketDetailSerializer

    def get_object(self):
        return ticket_get_for_user(
            user=self.request.user, ticket_id=self.kwargs["pk"], for_write=self.request.method != "GET"
        )

    @extend_schema(responses={
        201: TicketDetailSerializer,
        403: OpenApiResponse(description="Only agents, senior agents and supervisors create tickets."),
    })
    def create(self, request, *args, **kwargs):
        ensure_ticket_creator(request.user)  # refused before anything is read or written
        serializer = TicketCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        number, platform = data.pop("order_number", None), data.pop("order_platform", "")
        owner = None if data.pop("assign_automatically", False) else request.user
        if number and not data.get("order"):
            data["order"] = order_get_by_number(external_number=number, platform=platform)
        ticket = services.ticket_create(actor=request.user, owner=owner, **data)
        ticket = ticket_get_for_user(user=request.user, ticket_id=ticket.pk)
        return Response(TicketDetailSerializer(ticket, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(
        request=TransitionSerializer,
        responses={
            200: TicketDetailSerializer,
            409: OpenApiResponse(TransitionRefusedSerializer, description="Refused; nothing changed."),
        },
    )
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        """Move the ticket through its lifecycle. A refused move answers 409 with the reason."""
        ticket = self.get_object()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k != "version"}
        ticket_transition(ticket=ticket, actor=request.user, expected_version=self.expected_version(request), **data)
        return self._fresh(ticket)

    def _fresh(self, ticket, status_code=status.HTTP_200_OK) -> Response:
        ticket = ticket_get_for_user(user=self.request.user, ticket_id=ticket.pk)
        return Response(TicketDetailSerializer(ticket, context={"request": self.request}).data, status=status_code)

    @extend_schema(
        request=ClassifySerializer,
        responses={200: TicketDetailSerializer, 409: OpenApiResponse(TransitionRefusedSerializer)},
    )
    @action(detail=True, methods=["post"])
    def classify(self, request, pk=None):
        """Set type, category, responsibility, recorded facts and tags; priority and risk are re-suggested."""
        return self._update(request, ClassifySerializer)

    @extend_schema(
        request=TicketUpdateSerializer,
        responses={
            200: TicketDetailSerializer,
            409: OpenApiResponse(TransitionRefusedSerializer),
            412: OpenApiResponse(StaleVersionSerializer, description="Stale version; the current state is returned."),
        },
    )
    def partial_update(self, request, *args, **kwargs):
        """Edit the recorded facts and classification. Send the version you read (If-Match or `version`)."""
        return self._update(request, TicketUpdateSerializer)

    def _update(self, request, serializer_class):
        ticket = self.get_object()
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k != "version"}
        services.ticket_classify(ticket=ticket, actor=request.user, expected_version=self.expected_version(request),
                                 **data)
        return self._fresh(ticket)

    @extend_schema(methods=["get"], responses={200: MessageSerializer(many=True)})
    @extend_schema(methods=["post"], request=MessageCreateSerializer,
                   responses={201: MessageSerializer, 409: OpenApiResponse(TransitionRefusedSerializer)})
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def messages(self, request, pk=None):
        """The conversation: replies to the customer, what the customer said, internal notes."""
        if request.method == "GET":
            ticket = ticket_get_for_user(user=request.user, ticket_id=pk)
            return Response(MessageSerializer(ticket.messages.select_related("author"), many=True).data)
        ticket = self.get_object()
        serializer = MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.message_add(ticket=ticket, actor=request.user, **serializer.validated_data)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": AttachmentUploadSerializer},
                   responses={201: AttachmentSerializer, 409: OpenApiResponse(TransitionRefusedSerializer)})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def attachments(self, request, pk=None):
        """Upload evidence (photo, video, PDF; type checked by content, size limited)."""
        ticket = self.get_object()
        serializer = AttachmentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = None
        if serializer.validated_data.get("message"):
            message = ticket.messages.filter(pk=serializer.validated_data["message"]).first()
            if message is None:
                raise ValidationError({"message": [_("No such message on this ticket.")]}, code="does_not_exist")
        attachment = services.attachment_add(
            ticket=ticket, actor=request.user, upload=serializer.validated_data["file"], message=message
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)
