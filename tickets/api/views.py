from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from orders.selectors import order_get_by_number

from .. import services
from ..filters import TicketFilter
from ..policies import ticket_get_for_user, tickets_visible_to
from ..selectors import ticket_list
from ..workflow import ticket_transition
from .people import TicketPeopleMixin
from .serializers import (
    ClassifySerializer,
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketListSerializer,
    TransitionRefusedSerializer,
    TransitionSerializer,
)


class TicketViewSet(
    TicketPeopleMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """After-sales tickets: list (filtered, cursor-paginated), intake, detail with timeline, transitions."""

    filterset_class = TicketFilter

    def get_queryset(self):
        return ticket_list(tickets_visible_to(self.request.user))

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

    @extend_schema(responses={201: TicketDetailSerializer})
    def create(self, request, *args, **kwargs):
        serializer = TicketCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        number, platform = data.pop("order_number", None), data.pop("order_platform", "")
        if number and not data.get("order"):
            data["order"] = order_get_by_number(external_number=number, platform=platform)
        ticket = services.ticket_create(actor=request.user, **data)
        ticket = ticket_get_for_user(user=request.user, ticket_id=ticket.pk)
        return Response(TicketDetailSerializer(ticket).data, status=status.HTTP_201_CREATED)

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
        ticket_transition(ticket=ticket, actor=request.user, **serializer.validated_data)
        ticket = ticket_get_for_user(user=request.user, ticket_id=ticket.pk)
        return Response(TicketDetailSerializer(ticket).data)

    @extend_schema(
        request=ClassifySerializer,
        responses={200: TicketDetailSerializer, 409: OpenApiResponse(TransitionRefusedSerializer)},
    )
    @action(detail=True, methods=["post"])
    def classify(self, request, pk=None):
        """Set type, category, responsibility, recorded facts and tags; priority and risk are re-suggested."""
        ticket = self.get_object()
        serializer = ClassifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.ticket_classify(ticket=ticket, actor=request.user, **serializer.validated_data)
        ticket = ticket_get_for_user(user=request.user, ticket_id=ticket.pk)
        return Response(TicketDetailSerializer(ticket).data)
