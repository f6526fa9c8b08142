"""API for the relay: assignment, take-from-queue and department subtasks."""

import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aftersales.api import StrictInput
from aftersales.filters import ApiFilterSet

from .. import assignment, subtasks
from ..models import Department, Subtask
from ..policies import (
    can_assign,
    can_cancel_subtask,
    can_take,
    department_id_of,
    subtask_get_for_user,
    subtasks_visible_to,
    ticket_get_for_user,
)
from ..selectors import subtask_list
from .serializers import StaleVersionSerializer, TicketDetailSerializer, TransitionRefusedSerializer
from .versioning import VersionedWrites


class SubtaskSerializer(StrictInput, serializers.ModelSerializer):
    ticket_number = serializers.CharField(source="ticket.number", read_only=True)
    department = serializers.SlugRelatedField(slug_field="code", queryset=Department.objects.all())
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False, allow_null=True
    )

    class Meta:
        model = Subtask
        fields = [
            "id",
            "ticket",
            "ticket_number",
            "department",
            "kind",
            "description",
            "assignee",
            "due_at",
            "status",
            "result",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
            "version",
        ]
        read_only_fields = [
            "version",
            "id",
            "ticket",
            "ticket_number",
            "status",
            "result",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
        ]


class SubtaskActionSerializer(StrictInput, serializers.Serializer):
    action = serializers.ChoiceField(choices=list(subtasks.SUBTASK_TRANSITIONS))
    version = serializers.IntegerField(required=False, min_value=1, write_only=True)
    result = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="What was found or done; the reason when rejecting or cancelling.",
    )


class AssignSerializer(StrictInput, serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), allow_null=True
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class SubtaskFilter(ApiFilterSet):
    department = django_filters.CharFilter(field_name="department__code")
    overdue = django_filters.BooleanFilter(method="filter_overdue")
    mine = django_filters.BooleanFilter(method="filter_mine", label="My department's subtasks")

    class Meta:
        model = Subtask
        fields = ["status", "kind", "department", "ticket", "assignee"]

    def filter_overdue(self, queryset, name, value):
        active = queryset.filter(status__in=Subtask.ACTIVE_STATUSES, due_at__lt=timezone.now())
        return active if value else queryset.exclude(pk__in=active.values("pk"))

    def filter_mine(self, queryset, name, value):
        return queryset.filter(department_id=department_id_of(self.request.user)) if value else queryset


class SubtaskViewSet(VersionedWrites, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Department subtasks. Department staff see and work only their own department's."""

    serializer_class = SubtaskSerializer
    filterset_class = SubtaskFilter

    def get_queryset(self):
        return subtask_list(subtasks_visible_to(self.request.user))

    def get_object(self):
        return subtask_get_for_user(user=self.request.user, subtask_id=self.kwargs["pk"])

    @extend_schema(
        request=SubtaskActionSerializer,
        responses={
            200: SubtaskSerializer,
            409: OpenApiResponse(TransitionRefusedSerializer),
            412: OpenApiResponse(StaleVersionSerializer),
        },
    )
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        """start / complete / reject (the department) or cancel (the agent on the ticket)."""
        subtask_get_for_user(user=request.user, subtask_id=pk)  # not visible: 404 before the body is read
        serializer = SubtaskActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        move, result = serializer.validated_data["action"], serializer.validated_data["result"]
        subtask = subtask_get_for_user(user=request.user, subtask_id=pk, for_work=move != "cancel")
        if move == "cancel" and not can_cancel_subtask(request.user, subtask):
            raise PermissionDenied
        subtask = subtasks.subtask_act(
            subtask=subtask, actor=request.user, action=move, result=result,
            expected_version=self.expected_version(request),
        )
        subtask = subtask_get_for_user(user=request.user, subtask_id=subtask.pk)
        return Response(SubtaskSerializer(subtask).data)


class TicketPeopleMixin:
    """Actions on TicketViewSet for assignment and subtasks."""

    @extend_schema(request=AssignSerializer, responses={200: TicketDetailSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Assign or reassign (supervisors only); the timeline records from, to and why."""
        ticket = ticket_get_for_user(user=request.user, ticket_id=pk)
        if not can_assign(request.user):
            raise PermissionDenied
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment.ticket_assign(ticket=ticket, actor=request.user, **serializer.validated_data)
        ticket = ticket_get_for_user(user=request.user, ticket_id=pk)
        return Response(TicketDetailSerializer(ticket, context={"request": request}).data)

    @extend_schema(
        request=None, responses={200: TicketDetailSerializer, 409: OpenApiResponse(TransitionRefusedSerializer)}
    )
    @action(detail=True, methods=["post"])
    def take(self, request, pk=None):
        """An agent takes an unassigned ticket from the queue."""
        ticket = ticket_get_for_user(user=request.user, ticket_id=pk)
        if not can_take(request.user):
            raise PermissionDenied
        # Already taken by someone else: the service refuses with 409 and the reason.
        assignment.ticket_take(ticket=ticket, actor=request.user)
        ticket = ticket_get_for_user(user=request.user, ticket_id=pk)
        return Response(TicketDetailSerializer(ticket, context={"request": request}).data)

    @extend_schema(methods=["get"], responses={200: SubtaskSerializer(many=True)})
    @extend_schema(
        methods=["post"],
        request=SubtaskSerializer,
        responses={201: SubtaskSerializer, 409: OpenApiResponse(TransitionRefusedSerializer)},
    )
    @action(detail=True, methods=["get", "post"], url_path="subtasks", pagination_class=None, filter_backends=[])
    def subtasks(self, request, pk=None):
        """The ticket's subtasks; POST hands work to a department."""
        if request.method == "GET":
            ticket = ticket_get_for_user(user=request.user, ticket_id=pk)
            queryset = subtask_list(subtasks_visible_to(request.user).filter(ticket=ticket))
            return Response(SubtaskSerializer(queryset, many=True).data)
        ticket = ticket_get_for_user(user=request.user, ticket_id=pk, for_write=True)
        serializer = SubtaskSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subtask = subtasks.subtask_create(
            ticket=ticket,
            actor=request.user,
            department=data["department"],
            kind=data["kind"],
            description=data["description"],
            due_at=data.get("due_at"),
            assignee=data.get("assignee"),
        )
        return Response(SubtaskSerializer(subtask_list().get(pk=subtask.pk)).data, status=status.HTTP_201_CREATED)
