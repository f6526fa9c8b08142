"""API for closing the loop: the closing summary, follow-ups, survey answers and the customer link."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from aftersales.api import StrictInput

from .. import services
from ..followup.models import FollowUp, SatisfactionSurvey
from ..followup.services import follow_up_record
from ..policies import ticket_visible_or_404
from ..portal.links import customer_link_issue


class SummarySerializer(StrictInput, serializers.Serializer):
    # A part left out keeps what is written; a blank one clears it.
    root_cause = serializers.CharField(allow_blank=True, required=False, label=_("root cause"))
    summary = serializers.CharField(allow_blank=True, required=False, label=_("what was done"))
    what_worked = serializers.CharField(allow_blank=True, required=False, label=_("what worked"))


class FollowUpSerializer(StrictInput, serializers.ModelSerializer):
    score = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True, write_only=True)

    class Meta:
        model = FollowUp
        fields = ["id", "channel", "result", "note", "score", "recorded_by", "created_at"]
        read_only_fields = ["id", "recorded_by", "created_at"]


class SurveySerializer(serializers.ModelSerializer):
    class Meta:
        model = SatisfactionSurvey
        fields = ["id", "resolved_at", "solved", "score", "comment", "channel", "recorded_by", "created_at"]
        read_only_fields = fields


class CustomerLinkRequestSerializer(StrictInput, serializers.Serializer):
    renew = serializers.BooleanField(required=False, default=False,
                                     help_text=_("Replace the link key: links given out before stop working."))


class CustomerLinkSerializer(serializers.Serializer):
    url = serializers.URLField()
    expires_at = serializers.DateTimeField()


class TicketClosingMixin:
    """Actions on TicketViewSet after the work: summary, follow-up (回访), survey answers, customer link."""

    @extend_schema(request=SummarySerializer, responses={200: SummarySerializer})
    @action(detail=True, methods=["post"])
    def summary(self, request, pk=None):
        """The closing summary: root cause, what was done, what worked (archive needs all three)."""
        ticket = self.get_object()
        serializer = SummarySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket = services.ticket_set_summary(ticket=ticket, actor=request.user, **serializer.validated_data)
        return Response(SummarySerializer(ticket).data)

    @extend_schema(methods=["get"], responses={200: FollowUpSerializer(many=True)})
    @extend_schema(methods=["post"], request=FollowUpSerializer, responses={201: FollowUpSerializer})
    @action(detail=True, methods=["get", "post"], url_path="follow-ups", pagination_class=None, filter_backends=[])
    def follow_ups(self, request, pk=None):
        """Follow-ups after resolution. Solved closes the case (a score is stored as the survey answer),
        not solved reopens it with the note, no answer leaves it for auto-close."""
        if request.method == "GET":
            ticket_visible_or_404(user=request.user, ticket_id=pk)
            return Response(FollowUpSerializer(FollowUp.objects.filter(ticket_id=pk), many=True).data)
        ticket = self.get_object()
        serializer = FollowUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        follow_up = follow_up_record(ticket=ticket, actor=request.user, **serializer.validated_data)
        return Response(FollowUpSerializer(follow_up).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: SurveySerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def surveys(self, request, pk=None):
        """The customer's answers after each resolution (solved or not, score 1–5, comment)."""
        ticket_visible_or_404(user=request.user, ticket_id=pk)
        return Response(SurveySerializer(SatisfactionSurvey.objects.filter(ticket_id=pk), many=True).data)

    @extend_schema(request=CustomerLinkRequestSerializer, responses={200: CustomerLinkSerializer})
    @action(detail=True, methods=["post"], url_path="customer-link")
    def customer_link(self, request, pk=None):
        """A signed, expiring link for the customer (no login): progress, solutions, evidence, survey."""
        ticket = self.get_object()
        serializer = CustomerLinkRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        path, until = customer_link_issue(ticket=ticket, actor=request.user, renew=serializer.validated_data["renew"])
        return Response(CustomerLinkSerializer({"url": request.build_absolute_uri(path), "expires_at": until}).data)


