"""Exact query counts pinned for every list page of the desk and every list of the API.

Each page is read by the role that works it, first with N rows and then with 3N, every row carrying the
related objects the page shows (customer, order and items, assignee, tags, subtasks, author...). Both reads
must make exactly the pinned number of queries: more with 3N rows is an N+1 (a missing select_related or
prefetch), a new figure with N rows is a new query on the page to account for here. The figures include
the session, the user and their roles, and on HTML pages the header's unread count and menu; they are the
same on SQLite and PostgreSQL. The cache is cleared before each read: the dashboard's charts would
otherwise be read from it the second time.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.core.cache import cache
from django.utils import timezone

from orders.models import Order
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, TicketFactory, make_user
from tickets.expert.models import Macro
from tickets.followup.models import FollowUp, SatisfactionSurvey
from tickets.knowledge.models import KnowledgeArticle
from tickets.models import (
    ApprovalRequest,
    Category,
    Channel,
    Department,
    Incident,
    Message,
    Notification,
    RiskLevel,
    SLAState,
    Solution,
    Status,
    Subtask,
    Tag,
    TicketType,
)
from tickets.pricediff.models import PriceDiffBatch

N = 3  # rows on the first read; the second has 3N (within every page size: dashboard lists stop at 20)
_serial = count(1)


def _ticket(*, assignee=None, **fields):
    """An in-progress ticket with everything a list can show: a customer, an order with the affected item,
    an assignee, SLA clocks, two tags and a warehouse subtask with its assignee."""
    item = OrderItemFactory(order=OrderFactory(customer=CustomerFactory(platform="taobao")))
    now = timezone.now()
    ticket = TicketFactory(**{
        "customer": item.order.customer, "order": item.order, "assignee": assignee or make_user("agent"),
        "status": Status.IN_PROGRESS, "type": TicketType.RETURN_REFUND, "category": Category.PRODUCT_QUALITY,
        "sla_state": SLAState.ON_TRACK, "first_response_due_at": now + timedelta(hours=2),
        "resolution_due_at": now + timedelta(hours=8), **fields,
    })
    ticket.affected_items.add(item)
    ticket.tags.add(*(Tag.objects.create(name=f"tag-{next(_serial)}") for _ in range(2)))
    Subtask.objects.create(ticket=ticket, department=Department.objects.get(code="warehouse"),
                           kind=Subtask.Kind.INSPECT_RETURN, description="验货", due_at=now + timedelta(hours=20),
                           assignee=make_user("department_staff", department="warehouse"), created_by=ticket.assignee)
    return ticket


# One row of a page each: made for `viewer` (on `ticket` for a ticket's own lists), returning a text the
# page shows for that row.

def ticket_row(viewer, ticket):
    return _ticket().number


def _department_ticket(viewer):
    """A ticket the viewer's department works on (department staff see only those, masked)."""
    ticket = _ticket()
    Subtask.objects.create(ticket=ticket, department=viewer.staff_profile.department, kind=Subtask.Kind.OTHER,
                           description="处理", assignee=viewer, created_by=ticket.assignee)
    return ticket


def department_ticket_row(viewer, ticket):
    return _department_ticket(viewer).number


def customer_row(viewer, ticket):
    return _ticket().customer.platform_account


def department_customer_row(viewer, ticket):
    return f'"id":{_department_ticket(viewer).customer_id},'  # name and account come masked


def order_row(viewer, ticket):
    order = _ticket().order
    OrderItemFactory(order=order)  # a second line, of another product
    return order.external_number


def subtask_row(viewer, ticket):
    """An open subtask of the viewer's department, assigned to a colleague, on a full ticket."""
    department = viewer.staff_profile.department
    on = _ticket()
    Subtask.objects.create(ticket=on, department=department, kind=Subtask.Kind.REFUND_PAYMENT, description="退款",
                           assignee=make_user("department_staff", department=department.code),
                           due_at=timezone.now() + timedelta(hours=5), created_by=on.assignee)
    return on.number


def dashboard_row(viewer, ticket):
    """An agent with a breached, escalated, high-risk ticket and an at-risk one: a row in each of the
    dashboard's lists and in its workload table."""
    agent = make_user("agent")
    breached = _ticket(assignee=agent, sla_state=SLAState.BREACHED, escalation_level=1, risk_level=RiskLevel.HIGH)
    _ticket(assignee=agent, sla_state=SLAState.WARNING, sla_next_check_at=timezone.now() + timedelta(minutes=30))
    return breached.number


def breached_row(viewer, ticket):
    """A breached open ticket: a row of the dashboard's complete breached list (the queue, newest breach first)."""
    return _ticket(sla_state=SLAState.BREACHED, resolution_due_at=timezone.now() - timedelta(minutes=5)).number


def approval_row(viewer, ticket):
    """A refund above the agent's limit waiting for a decision, and one a supervisor approved."""
    numbers = []
    for decision in ({}, {"status": ApprovalRequest.Status.APPROVED, "decided_by": make_user("supervisor"),
                          "decided_at": timezone.now(), "decision_reason": "同意"}):
        on = _ticket()
        solution = Solution.objects.create(ticket=on, kind=Solution.Kind.REFUND_ONLY, amount=Decimal("500"),
                                           proposed_by=on.assignee)
        ApprovalRequest.objects.create(ticket=on, kind=ApprovalRequest.Kind.REFUND, solution=solution,
                                       amount=solution.amount, reason="超过限额", requested_by=on.assignee, **decision)
        numbers.append(on.number)
    return numbers[0]


def incident_row(viewer, ticket):
    incident = Incident.objects.create(
        title=f"incident-{next(_serial)}", cause=Incident.Cause.PRODUCT_DEFECT, product=ProductFactory(),
        category=Category.PRODUCT_QUALITY, status=Incident.Status.CONFIRMED, confirmed_by=viewer,
        window_start=timezone.now() - timedelta(hours=5), window_end=timezone.now(), agreed_reply="统一口径",
    )
    incident.tickets.add(_ticket(), _ticket())
    incident.excluded_orders.add(OrderFactory())
    return incident.title


def watch_row(viewer, ticket):
    """An order past its ship-by time and a parcel stalled in transit, each with its customer and item."""
    now = timezone.now()
    overdue = OrderFactory(status=Order.Status.PAID, ship_by=now - timedelta(hours=3), warehouse="杭州仓")
    stalled = OrderFactory(status=Order.Status.SHIPPED, shipped_at=now - timedelta(days=3), carrier="SF",
                           tracking_number=f"SF{next(_serial):010d}", logistics_status=Order.LogisticsStatus.IN_TRANSIT,
                           logistics_updated_at=now - timedelta(days=2))
    OrderItemFactory(order=overdue)
    OrderItemFactory(order=stalled)
    return stalled.tracking_number


def pricediff_row(viewer, ticket):
    n = next(_serial)
    batch = PriceDiffBatch.objects.create(
        file_name=f"drop-{n}.csv", file_sha256=f"{n:064x}", uploaded_by=make_user("supervisor"),
        status=PriceDiffBatch.Status.DONE, total_rows=10, valid_rows=9, processed_rows=9, refunded_rows=9,
        refunded_amount=Decimal("90.00"), decided_by=viewer, decided_at=timezone.now(),
    )
    return batch.file_name


def _article(*, language="zh-hans", is_faq=False):
    n = next(_serial)
    article = KnowledgeArticle.objects.create(
        title=f"article-{n}", body="拉链坏了：免费换新。", language=language, category=Category.PRODUCT_QUALITY,
        ticket_type=TicketType.EXCHANGE, is_faq=is_faq, status=KnowledgeArticle.Status.PUBLISHED,
        published_at=timezone.now(), author=make_user("agent"), source_ticket=_ticket(),
    )
    article.tags.add(*(Tag.objects.create(name=f"kb-{n}-{i}") for i in range(2)))
    return article.title


def article_row(viewer, ticket):
    return _article()


def faq_row(viewer, ticket):
    return _article(language="en", is_faq=True)  # the anonymous visitor reads English


def notification_row(viewer, ticket):
    on = _ticket(assignee=viewer)
    subtask = on.subtasks.get()
    Notification.objects.create(recipient=viewer, kind=Notification.Kind.SUBTASK_OVERDUE, ticket=on,
                                subtask=subtask, dedupe_key=f"overdue:{subtask.pk}")
    return on.number


def _resolved_case():
    """An agent who resolved a product-quality ticket this period, naming a product of its own, with the
    customer's survey: one more row in the agents report and one in the defects report."""
    agent = make_user("agent")
    now = timezone.now()
    resolved = _ticket(assignee=agent, status=Status.RESOLVED, first_response_at=now, resolved_at=now)
    SatisfactionSurvey.objects.create(ticket=resolved, resolved_at=now, solved=True, score=5, channel=Channel.PHONE)
    return agent, resolved.affected_items.get().product


def report_agent_row(viewer, ticket):
    return _resolved_case()[0].username


def report_product_row(viewer, ticket):
    return _resolved_case()[1].sku


def message_row(viewer, ticket):
    return Message.objects.create(ticket=ticket, direction=Message.Direction.OUTBOUND, channel=Channel.CHAT,
                                  body=f"message-{next(_serial)}", author=make_user("agent")).body


def ticket_subtask_row(viewer, ticket):
    return Subtask.objects.create(ticket=ticket, department=Department.objects.get(code="finance"),
                                  kind=Subtask.Kind.REFUND_PAYMENT, description=f"subtask-{next(_serial)}",
                                  assignee=make_user("department_staff", department="finance"),
                                  created_by=ticket.assignee).description


def solution_row(viewer, ticket):
    return Solution.objects.create(ticket=ticket, kind=Solution.Kind.COMPENSATION, amount=Decimal("20"),
                                   note=f"solution-{next(_serial)}", proposed_by=make_user("agent")).note


def follow_up_row(viewer, ticket):
    return FollowUp.objects.create(ticket=ticket, channel=Channel.PHONE, result=FollowUp.Result.NO_ANSWER,
                                   note=f"follow-up-{next(_serial)}", recorded_by=make_user("agent")).note


def macro_row(viewer, ticket):
    return Macro.objects.create(name=f"macro-{next(_serial)}", body="您好", action="wait_customer", tags="a, b",
                                subtask_department=Department.objects.get(code="warehouse"),
                                subtask_kind=Subtask.Kind.RESHIP, subtask_description="补寄").name


def survey_row(viewer, ticket):
    return SatisfactionSurvey.objects.create(
        ticket=ticket, resolved_at=timezone.now() - timedelta(days=next(_serial)), solved=False, score=2,
        comment=f"survey-{next(_serial)}", channel=Channel.PHONE, recorded_by=make_user("agent")).comment


@dataclass(frozen=True)
class Page:
    url: str  # "{ticket}": the id of a ticket made for the test, whose own list is read
    role: str | None  # None: anonymous (the public FAQ)
    row: Callable
    queries: int
    department: str | None = None


# The figure after each page: what its queries are, beyond the session, the user and their roles (3) that
# every signed-in request reads, and the header's unread count (1) of every browser page (its group names come
# with the roles).
PAGES = {
    # Browser pages
    # tab counts, ids, rows, filters' tags and assignees; whether clocks stand still (calendars, their hours and
    # days, the policies: cached for up to a minute, so read here only because the cache is cleared); the
    # desk's change stamp the live poll starts from; the saved views' list (none saved here: each saved view
    # adds one COUNT when its 30-second cached figure has expired, at most SAVED_VIEWS_SHOWN = 12,
    # tests/tickets/test_saved_views.py)
    "queue": Page("/?queue=all", "agent", ticket_row, 15),
    "queue-open-supervisor": Page("/?queue=open", "supervisor", ticket_row, 17),  # bulk: assignees, open incidents
    "inbox": Page("/inbox/", "department_staff", subtask_row, 12, "finance"),  # profile, dept, 4 counts, rows, stamp
    "dashboard": Page("/dashboard/", "supervisor", dashboard_row, 14),  # stamp, workload, charts, today, staff, 3 lists
    # The dashboard's "see all" breached list: the queue filtered, sorted by the missed due time (ids read whole)
    "breached-list": Page("/?queue=open&sla_state=breached&ordering=-sla_due_at", "supervisor", breached_row, 17),
    "approvals": Page("/approvals/", "supervisor", approval_row, 6),  # pending, decided
    "incidents": Page("/incidents/", "supervisor", incident_row, 5),  # rows with their product
    "shipping-watch": Page("/watch/", "supervisor", watch_row, 7),  # overdue, stalled, reply templates
    # finance: profile, department, rows with their uploader
    "price-differences": Page("/price-differences/", "department_staff", pricediff_row, 7, "finance"),
    "knowledge": Page("/kb/", "agent", article_row, 7),  # count, rows, tags
    "faq": Page("/faq/", None, faq_row, 2),  # anonymous: rows, tags
    "notifications": Page("/notifications/", "agent", notification_row, 5),
    "macros": Page("/macros/", "agent", macro_row, 5),  # rows with their subtask's department
    "reports": Page("/reports/", "supervisor", report_agent_row, 23),  # the ten reports' 19 queries
    # REST API lists (cursor pagination: no COUNT)
    "api-tickets": Page("/api/v1/tickets/", "agent", ticket_row, 4),
    "api-tickets-department": Page("/api/v1/tickets/", "department_staff", department_ticket_row, 5, "finance"),
    "api-customers": Page("/api/v1/customers/", "agent", customer_row, 4),
    "api-customers-department": Page("/api/v1/customers/", "department_staff", department_customer_row, 5,
                                     "finance"),
    "api-orders": Page("/api/v1/orders/", "agent", order_row, 6),  # rows, items, products
    "api-subtasks": Page("/api/v1/subtasks/", "department_staff", subtask_row, 5, "finance"),
    "api-notifications": Page("/api/v1/notifications/", "agent", notification_row, 3),  # no roles read
    "api-approvals": Page("/api/v1/approvals/", "supervisor", approval_row, 4),
    "api-incidents": Page("/api/v1/incidents/", "supervisor", incident_row, 6),  # rows, tickets, excluded orders
    "api-articles": Page("/api/v1/articles/", "agent", article_row, 6),  # count (page numbers), rows, tags
    "api-report-agents": Page("/api/v1/reports/agents/", "supervisor", report_agent_row, 6),
    "api-report-defects": Page("/api/v1/reports/defects/", "supervisor", report_product_row, 6),
    # A ticket's own lists: messages and solutions read the ticket with the ticket page's 5 prefetches,
    # subtasks that and the list; follow-ups and surveys an access check and the list.
    "api-ticket-messages": Page("/api/v1/tickets/{ticket}/messages/", "agent", message_row, 9),
    "api-ticket-subtasks": Page("/api/v1/tickets/{ticket}/subtasks/", "agent", ticket_subtask_row, 9),
    "api-ticket-solutions": Page("/api/v1/tickets/{ticket}/solutions/", "agent", solution_row, 8),
    "api-ticket-follow-ups": Page("/api/v1/tickets/{ticket}/follow-ups/", "agent", follow_up_row, 5),
    "api-ticket-surveys": Page("/api/v1/tickets/{ticket}/surveys/", "agent", survey_row, 5),
}


def _read(client, url) -> str:
    cache.clear()
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_a_list_page_makes_its_pinned_queries_for_n_rows_and_for_3n(name, client, django_assert_num_queries):
    page = PAGES[name]
    viewer = make_user(page.role, department=page.department) if page.role else None
    if viewer:
        client.force_login(viewer)
    ticket = _ticket(assignee=viewer) if "{ticket}" in page.url else None
    url = page.url.format(ticket=ticket.pk if ticket else "")
    shown = [page.row(viewer, ticket) for _ in range(N)]
    _read(client, url)  # the first request after logging in loads what a process keeps (content types...)

    with django_assert_num_queries(page.queries):
        text = _read(client, url)
    assert all(marker in text for marker in shown)

    shown += [page.row(viewer, ticket) for _ in range(2 * N)]
    with django_assert_num_queries(page.queries):
        text = _read(client, url)
    assert all(marker in text for marker in shown)
