"""The agent's workspace: the queue and its tabs, a new ticket taken on the phone (with the order
lookup), the supervisor's dashboard and bulk actions."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.db_router import reads_from
from aftersales.web import attempt, redirect_next, render_hot
from customers.services import Caller

from .. import exports, services
from ..dashboard import AT_RISK_LIST, BREACHED_LIST, dashboard_figures
from ..expert.forms import SavedViewForm
from ..expert.selectors import saved_views_for_queue
from ..filters import QUEUE_LABELS, TicketFilter, queue_counts, queue_filter, queue_from
from ..forms import BulkActionForm, IntakeForm
from ..incidents import services as incidents
from ..live import desk_stamp
from ..policies import (
    can_bulk_update,
    can_create_tickets,
    can_export_tickets,
    can_see_dashboard,
    desk_required,
    is_supervisor,
    sees_full_tickets,
    tickets_visible_to,
)
from ..search import MATCHES_COUNTED
from ..selectors import (
    orders_with_history,
    ticket_page,
)
from ..sla.stops import with_clock_stops

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@desk_required
def ticket_queue(request):
    """Queues with counts, filters kept in the URL, search, sort and pagination."""
    if not sees_full_tickets(request.user):
        return redirect("tickets:inbox")
    stamp = desk_stamp()  # before anything is read: a change made meanwhile moves it past what the page shows
    visible = tickets_visible_to(request.user)
    counts = queue_counts(visible, request.user, stamp)  # "all" has none
    queue, filterset, ids = _queue_selection(request, visible)
    # Unfiltered, the list is the tab just counted: no second COUNT. A search's matches are counted up to
    # MATCHES_COUNTED ("1,000+"), the page read newest first from the index (tickets/search.py).
    known_count = counts.get(queue) if not _filtered(filterset) else None
    searched = bool(filterset.data.get("q", "").strip())
    page = ticket_page(ids, number=request.GET.get("page"), per_page=PAGE_SIZE, known_count=known_count,
                       count_at_most=MATCHES_COUNTED if searched else None)
    with_clock_stops(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render_hot(request, "tickets/queue.html", {
        "page": page, "filter": filterset, "queue": queue, "filtered": _filtered(filterset),
        "queues": [(name, label, counts.get(name)) for name, label in QUEUE_LABELS.items()],
        "query": query.urlencode(), "bulk_form": BulkActionForm() if can_bulk_update(request.user) else None,
        "export_limit": settings.QUEUE_EXPORT_MAX_ROWS,
        "saved_views": saved_views_for_queue(user=request.user, visible=visible, current=_view_query(query, queue)),
        "saved_view_form": SavedViewForm(initial={"query": _view_query(query, queue)}),
        "is_supervisor": is_supervisor(request.user),
        "live": {"stamp": stamp, "page": request.get_full_path()},
    })


def _view_query(query, queue: str) -> str:
    """The page's tab, filters, sort and search: what "save this view" saves."""
    query = query.copy()
    query["queue"] = queue
    return query.urlencode()


def _queue_selection(request, visible) -> tuple[str, TicketFilter, QuerySet]:
    """The tab, its filter and the ordered ids it selects, from the query string: what the queue page
    shows a page of and what its exports hold whole."""
    queue = queue_from(request.GET)
    filterset = TicketFilter(request.GET, queryset=visible.filter(queue_filter(queue, request.user)),
                             request=request)
    ids = filterset.qs.values_list("pk", flat=True)
    if not ids.query.order_by:  # no sort chosen, or one refused (the filter bar says why)
        ids = ids.order_by("-created_at", "-id")  # read in this order from ticket_open_created_idx
    return queue, filterset, ids


@desk_required
def queue_export(request, *, kind: str):
    """Every ticket the queue page selects (tab, filters, search, sort; all pages) as CSV or XLSX, for
    whoever may see that queue. Past QUEUE_EXPORT_MAX_ROWS the export is refused on the queue page with
    the count, never cut short."""
    if not can_export_tickets(request.user):
        raise PermissionDenied
    queue, filterset, ids = _queue_selection(request, tickets_visible_to(request.user))
    query = request.GET.urlencode()
    back_to_queue = reverse("tickets:queue") + (f"?{query}" if query else "")
    if filterset.errors:  # a refused filter would export more than asked: the queue page says which
        messages.error(request, _("The export was not made: correct the filter first."))
        return redirect(back_to_queue)
    limit = settings.QUEUE_EXPORT_MAX_ROWS
    # A whole queue read once, for a file: from the replica when there is one. Named explicitly, because
    # the CSV streams after this view has returned.
    database = reads_from()
    ids = ids.using(database)
    head = list(ids[:limit + 1])
    if len(head) > limit:
        messages.error(request, _(
            "%(count)s tickets match, more than the %(limit)s an export may hold. Narrow the filter "
            "(a tab, a status, a date range) and export again."
        ) % {"count": ids.count(), "limit": limit})
        return redirect(back_to_queue)
    filename = exports.export_filename(queue, kind, now=timezone.now())
    if kind == "csv":
        response = StreamingHttpResponse(exports.queue_csv(head, user=request.user, using=database),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response
    return FileResponse(exports.queue_xlsx(head, user=request.user, using=database), as_attachment=True,
                        filename=filename, content_type=XLSX)


def _filtered(filterset) -> bool:
    """Any filter or search given (ordering aside)? Judged on the raw parameters, so an unknown value
    counts as a filter too: the answer may say "filtered" needlessly, never the reverse."""
    return any(value.strip() for name in filterset.filters if name != "ordering"
               for value in filterset.data.getlist(name))


@desk_required
def ticket_new(request):
    if not can_create_tickets(request.user):
        raise PermissionDenied
    form = IntakeForm(request.POST or None, request.FILES or None, initial={"order_number": request.GET.get("order")})
    order = None
    if form.is_bound:
        form.is_valid()
        order = form.cleaned_data.get("order")
    if form.is_bound and not form.errors:
        data = form.cleaned_data
        facts = {k: data[k] for k in IntakeForm.TICKET_FACTS if data.get(k) not in (None, "")}
        created = {}

        def intake():
            caller = Caller(name=data["customer_name"], phone=data["customer_phone"],
                            platform=data["customer_platform"])
            created["ticket"] = services.ticket_create(
                actor=request.user, channel=data["channel"], description=data["description"],
                customer=data.get("customer"), caller=caller, order=order,
                affected_items=data.get("affected_items") or [], evidence=data.get("evidence"), **facts,
                owner=None if data.get("assign_automatically") else request.user,
            )

        if attempt(request, intake, _("Ticket created.")):
            return redirect("tickets:detail", pk=created["ticket"].pk)
    matches = orders_with_history(order.external_number) if order else []
    return render(request, "tickets/new.html", {"form": form, "matches": matches})


@desk_required
def order_lookup(request):
    """htmx: the order (with customer and items) for a number typed during the call."""
    number = request.GET.get("order_number", "").strip()
    if not sees_full_tickets(request.user):
        raise PermissionDenied
    return render(request, "tickets/partials/_order_lookup.html",
                  {"matches": orders_with_history(number), "number": number})


@desk_required
def dashboard(request):
    if not can_see_dashboard(request.user):
        raise PermissionDenied
    queue_url = reverse("tickets:queue")
    lists = {"breached": f"{queue_url}?{urlencode(BREACHED_LIST)}", "at_risk": f"{queue_url}?{urlencode(AT_RISK_LIST)}"}
    figures = dashboard_figures(stamp=desk_stamp())  # the stamp before anything is read
    return render_hot(request, "tickets/dashboard.html",
                      {"figures": figures, "lists": lists})


@require_POST
@desk_required
def bulk_action(request):
    if not can_bulk_update(request.user):
        raise PermissionDenied
    form = BulkActionForm(request.POST)
    if form.is_valid() and form.cleaned_data["action"] in BulkActionForm.INCIDENT_ACTIONS:
        return _bulk_incident(request, form.cleaned_data)
    if form.is_valid():
        data = form.cleaned_data
        attempt(request, lambda: services.tickets_bulk_update(
            ticket_ids=data["tickets"], actor=request.user, action=data["action"], assignee=data.get("assignee"),
            priority=data.get("priority"), tag=data.get("tag"), reason=data.get("reason") or ""),
            _("Bulk action applied."))
    else:
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, text)
    return redirect_next(request, reverse("tickets:queue"))


def _bulk_incident(request, data):
    """Open an incident from the chosen tickets, or add them to an open one; then its page."""
    try:
        if data["action"] == "incident_new":
            incident, report = incidents.incident_open_from_tickets(ticket_ids=data["tickets"], actor=request.user)
            messages.success(request, _("Incident opened with %(count)d tickets: check its title and product.")
                             % {"count": len(report.done)})
        else:
            incident = data["incident"]
            report = incidents.incident_add_tickets(incident=incident, ticket_ids=data["tickets"],
                                                    actor=request.user)
            messages.success(request, _("%(done)d tickets added to the incident, %(skipped)d already in it.")
                             % {"done": len(report.done), "skipped": len(report.skipped)})
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
        return redirect_next(request, reverse("tickets:queue"))
    for ticket_id, why in list(report.refused.items())[:20]:
        messages.warning(request, f"#{ticket_id}: {why}")
    return redirect("tickets:incident", pk=incident.pk)
