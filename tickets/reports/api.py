"""GET /api/v1/reports/<name>/?from=YYYY-MM-DD&to=YYYY-MM-DD: one report as JSON (supervisors, admins)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .access import report_get_for_user
from .queries import REPORTS, report_run
from .serializers import PeriodQuerySerializer, ReportSerializer


class ReportView(APIView):
    """A supervisor report over a period of local dates (the shop's time zone)."""

    @extend_schema(
        operation_id="reports_retrieve",
        parameters=[
            OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(REPORTS),
                             description="Which report."),
            PeriodQuerySerializer,
        ],
        responses={
            200: ReportSerializer,
            400: OpenApiResponse(description="Bad dates: `errors` names the parameter (`from`, `to`)."),
            401: OpenApiResponse(description="Not logged in."),
            403: OpenApiResponse(description="Only supervisors and admins read reports."),
            404: OpenApiResponse(description="No report of that name."),
        },
    )
    def get(self, request, name: str):
        report_get_for_user(user=request.user, name=name)
        query = PeriodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = query.validated_data["period"]
        report = report_run(name, period)
        return Response(ReportSerializer({**report.as_dict(), "period": period.as_dict()}).data)
