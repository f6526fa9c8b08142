"""API for the playbook: solutions and their agreement, supervisor approvals, incidents."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aftersales.api import StrictInput

from ..incidents import services as incidents
from ..models import ApprovalRequest, Channel, Incident, Solution
from ..notes import note
from ..playbook import services as playbook
from ..policies import (
    approval_get_for_user,
    approvals_visible_to,
    ensure_incident_manager,
    incident_get_for_user,
    ticket_get_for_user,
)


class SolutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Solution
        fields = [
            "id",
            "ticket",
            "kind",
            "amount",
            "return_required",
            "return_waived",
            "customer_sends_back",
            "expected_days",
            "shop_cost",
            "note",
            "status",
            "created_at",
            "confirmed_at",
            "confirmed_channel",
            "confirmed_text",
        ]
        read_only_fields = [
            "id",
            "ticket",
            "status",
            "return_waived",
            "created_at",
            "confirmed_at",
            "confirmed_channel",
            "confirmed_text",
        ]


class SolutionProposeSerializer(StrictInput, serializers.Serializer):
    kind = serializers.ChoiceField(choices=Solution.Kind.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, default=0)
    return_required = serializers.BooleanField(required=False, allow_null=True, default=None)
    customer_sends_back = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    expected_days = serializers.IntegerField(min_value=0, max_value=365, required=False, allow_null=True)
    shop_cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, default=0)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    waiver_reason = serializers.CharField(required=False, allow_blank=True, default="")


class SolutionConfirmSerializer(StrictInput, serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    text = serializers.CharField(max_length=5000)


class ApprovalSerializer(serializers.ModelSerializer):
    ticket_number = serializers.CharField(source="ticket.number", read_only=True)

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "ticket",
            "ticket_number",
            "kind",
            "amount",
            "reason",
            "status",
            "requested_by",
            "decided_by",
            "decision_reason",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields


class ApprovalDecisionSerializer(StrictInput, serializers.Serializer):
    approve = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class IncidentSerializer(serializers.ModelSerializer):
    tickets = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    excluded_orders = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "cause",
            "status",
            "product",
            "category",
            "carrier",
            "window_start",
            "window_end",
            "affected_from",
            "affected_to",
            "affected_order_time",
            "excluded_orders",
            "agreed_reply",
            "plan",
            "tickets",
            "created_at",
            "confirmed_by",
            "resolved_by",
            "resolved_at",
        ]
        read_only_fields = fields


class IncidentScopeSerializer(StrictInput, serializers.Serializer):
    """PATCH: which orders the incident reaches. A field left out keeps its value; null falls back to the window."""

    affected_from = serializers.DateTimeField(required=False, allow_null=True)
    affected_to = serializers.DateTimeField(required=False, allow_null=True)
    affected_order_time = serializers.ChoiceField(choices=Incident.OrderTime.choices, required=False)


class IncidentExclusionsSerializer(StrictInput, serializers.Serializer):
    exclude = serializers.ListField(child=serializers.IntegerField(), required=False, default=list, max_length=1000)
    include = serializers.ListField(child=serializers.IntegerField(), required=False, default=list, max_length=1000)


class IncidentPreviewSerializer(serializers.Serializer):
    affected_from = serializers.DateTimeField()
    affected_to = serializers.DateTimeField()
    order_time = serializers.CharField()
    orders = serializers.IntegerField()
    customers = serializers.IntegerField()
    in_contact_customers = serializers.IntegerField()
    excluded_orders = serializers.IntegerField()
    to_contact_customers = serializers.IntegerField()
    to_contact_orders = serializers.IntegerField()
    replied_customers = serializers.IntegerField()
    proactive_tickets = serializers.IntegerField()


class IncidentActSerializer(StrictInput, serializers.Serializer):
    action = serializers.ChoiceField(choices=["confirm", "reply", "resolve", "proactive"])
    agreed_reply = serializers.CharField(required=False, allow_blank=True, default="")
    plan = serializers.CharField(required=False, allow_blank=True, default="")


class BulkReportSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField())
    refused = serializers.DictField(child=serializers.CharField())
    skipped = serializers.DictField(child=serializers.CharField())


class TicketSolutionsMixin:
    """Actions on TicketViewSet: the ticket's solutions."""

    @extend_schema(methods=["get"], responses={200: SolutionSerializer(many=True)})
    @extend_schema(methods=["post"], request=SolutionProposeSerializer, responses={201: SolutionSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def solutions(self, request, pk=None):
        """Proposed and agreed solutions; POST proposes one (a quality defect needs the item back or a waiver)."""
        if request.method == "GET":
            ticket = ticket_get_for_user(user=request.user, ticket_id=pk)
            return Response(SolutionSerializer(ticket.solutions.all(), many=True).data)
        ticket = self.get_object()
        serializer = SolutionProposeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        solution = playbook.solution_propose(ticket=ticket, actor=request.user, **serializer.validated_data)
        return Response(SolutionSerializer(solution).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SolutionConfirmSerializer, responses={200: SolutionSerializer})
    @action(detail=True, methods=["post"], url_path=r"solutions/(?P<solution_pk>\d+)/confirm")
    def confirm_solution(self, request, pk=None, solution_pk=None):
        """Record the customer's agreement (who, when, channel, the exact words); money and goods follow."""
        ticket = self.get_object()
        solution = get_object_or_404(ticket.solutions, pk=solution_pk)
        serializer = SolutionConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        solution = playbook.solution_confirm(solution=solution, actor=request.user, **serializer.validated_data)
        return Response(SolutionSerializer(solution).data)


class ApprovalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Approval requests. Supervisors see all and decide; others see the ones they asked for."""

    serializer_class = ApprovalSerializer
    queryset = ApprovalRequest.objects.none()
    filterset_fields = ["status", "kind"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        queryset = ApprovalRequest.objects.select_related("ticket").order_by("-created_at", "-id")
        return approvals_visible_to(self.request.user, queryset)

    @extend_schema(request=ApprovalDecisionSerializer, responses={200: ApprovalSerializer, 403: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        approval = approval_get_for_user(user=request.user, approval_id=pk, for_decision=True)
        serializer = ApprovalDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        approval = playbook.approval_decide(approval=approval, actor=request.user, **serializer.validated_data)
        return Response(ApprovalSerializer(approval).data)


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Incidents (批量问题), supervisors only. A resolved incident refuses every change (400)."""

    serializer_class = IncidentSerializer
    queryset = Incident.objects.none()
    filterset_fields = ["status", "cause", "category"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        ensure_incident_manager(self.request.user)
        return Incident.objects.prefetch_related("tickets", "excluded_orders").order_by("-created_at", "-id")

    def _incident(self, pk) -> Incident:
        return incident_get_for_user(user=self.request.user, incident_id=pk)

    @extend_schema(request=IncidentScopeSerializer, responses={200: IncidentSerializer})
    def partial_update(self, request, pk=None):
        """Edit which orders the incident reaches (affected_from, affected_to, affected_order_time)."""
        incident = self._incident(pk)
        serializer = IncidentScopeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scope = {
            "affected_from": incident.affected_from,
            "affected_to": incident.affected_to,
            "affected_order_time": incident.affected_order_time,
            **serializer.validated_data,
        }
        incidents.incident_set_scope(incident=incident, actor=request.user, **scope)
        return Response(IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(responses={200: IncidentPreviewSerializer})
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """Counts before anything is sent: affected orders and customers, in contact, excluded, to contact."""
        preview = incidents.incident_preview(incident=self._incident(pk))
        return Response(IncidentPreviewSerializer(preview).data)

    @extend_schema(request=IncidentExclusionsSerializer, responses={200: IncidentSerializer})
    @action(detail=True, methods=["post"])
    def exclusions(self, request, pk=None):
        """Exclude affected orders from proactive contact (`exclude`), or take them back in (`include`)."""
        incident = self._incident(pk)
        serializer = IncidentExclusionsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incidents.incident_update_exclusions(incident=incident, actor=request.user, **serializer.validated_data)
        return Response(IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(request=IncidentActSerializer, responses={200: BulkReportSerializer})
    @action(detail=True, methods=["post"])
    def act(self, request, pk=None):
        """confirm (with agreed_reply and plan), reply, resolve, proactive; per-ticket report.
        Repeating reply or proactive sends nothing twice: what was done before is reported as skipped."""
        incident = self._incident(pk)
        serializer = IncidentActSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["action"] == "confirm":
            incidents.incident_confirm(
                incident=incident, actor=request.user, agreed_reply=data["agreed_reply"], plan=data["plan"]
            )
            return Response({"done": [], "refused": {}, "skipped": {}})
        report = {
            "reply": lambda: incidents.incident_reply_all(incident=incident, actor=request.user),
            "resolve": lambda: incidents.incident_resolve_all(
                incident=incident, actor=request.user,
                reason=data["plan"] or note("Resolved with the incident's plan."),
            ),
            "proactive": lambda: incidents.incident_open_proactive(
                incident=incident, actor=request.user, site=request.build_absolute_uri("/")),
        }[data["action"]]()
        return Response(BulkReportSerializer({
            "done": report.done,
            "refused": {str(k): v for k, v in report.refused.items()},
            "skipped": {str(k): v for k, v in report.skipped.items()},
        }).data)
