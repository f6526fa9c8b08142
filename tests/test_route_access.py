"""Every route of the site, as every role: the access matrix, one explicit row per route and method.

The walk reads django.urls.get_resolver() recursively, the DRF router's routes included, and fails on
any route that has no row below (a page or an API action added later must say who may reach it).
Left out, on purpose:
- /admin/: Django admin has its own gate (is_staff plus model permissions; tests/test_admin.py);
- static and media files: no URL pattern serves them (whitenoise and nginx do), so none is walked.

How each route is called:
- pages with GET; POST-only views with an empty POST (CSRF checks off, as in the test client);
- DRF routes with every method their router maps (GET, POST, PUT, PATCH), an empty body for writes;
- path parameters name seeded rows (`seeded_desk`): a ticket waiting on the warehouse with its subtask,
  customer, order, solution, approval and evidence, an incident, a price-difference batch, a published
  FAQ article, a notification for the agent, the customer link's token and a report's name.

Outcomes: a status code, or LOGIN (302 to the login page). An empty POST that reaches a view usually
answers 302 (the form's errors shown on the page it redirects to) or 400 (API validation): what the row
states is who gets *past the access check*. Every refusal (401, 403, 404, 405, LOGIN) must leave the
data exactly as it was. Each call runs in a savepoint that is rolled back, so calls do not see each
other's writes.
"""

import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from customers.models import Customer
from orders.models import Order, Refund
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, UserFactory, make_user
from tickets import services
from tickets.expert.models import Macro, SavedView
from tickets.followup.models import FollowUp, SatisfactionSurvey
from tickets.knowledge import services as knowledge
from tickets.knowledge.models import KnowledgeArticle
from tickets.models import (
    ApprovalRequest,
    Attachment,
    Delivery,
    Department,
    Incident,
    Message,
    Notification,
    Solution,
    Subtask,
    Ticket,
    TicketEvent,
)
from tickets.playbook import services as playbook
from tickets.portal.links import customer_link_issue
from tickets.pricediff import services as pricediff
from tickets.pricediff.models import PriceDiffBatch
from tickets.subtasks import subtask_create
from tickets.workflow import ticket_transition

ROLES = ("agent", "senior", "supervisor", "warehouse", "finance", "admin", "plain", "anon")
LOGIN = "login"  # 302 to settings.LOGIN_URL
REFUSALS = frozenset({401, 403, 404, 405, LOGIN})
EXCLUDED_PREFIXES = ("/admin/", "/" + settings.STATIC_URL.lstrip("/"), "/" + settings.MEDIA_URL.lstrip("/"))


def everyone(outcome):
    return (outcome,) * len(ROLES)


# What each role gets, per route and method. Columns are ROLES. `<pk>` and the other parameters are
# filled with the seeded rows (see `_path`).
# fmt: off
ROUTES = {
    # Public: no login, and nobody is refused ------------------------------------------------------------------
    #                                                  agent  senior super  wareh  financ admin  plain  anon
    "GET /healthz":                                    everyone(200),
    "GET /accounts/login/":                            everyone(200),
    "POST /accounts/logout/":                          everyone(LOGIN),  # LOGOUT_REDIRECT_URL
    "GET /accounts/password_reset/":                   everyone(200),
    "GET /accounts/password_reset/done/":              everyone(200),
    "GET /accounts/reset/<uidb64>/<token>/":           everyone(200),  # "this link is invalid"
    "GET /accounts/reset/done/":                       everyone(200),
    "POST /i18n/setlang/":                             everyone(302),
    "GET /faq/":                                       everyone(200),
    "GET /faq/<pk>/":                                  everyone(200),  # a published FAQ article
    "GET /c/<token>/":                                 everyone(200),  # the customer's signed link
    "POST /c/<token>/confirm/":                        everyone(302),  # no solution chosen: a message
    "POST /c/<token>/evidence/":                       everyone(302),  # nothing sent: a message
    "POST /c/<token>/survey/":                         everyone(400),  # empty form
    "POST /api/v1/intake/":                            everyone(403),  # unsigned: refused, by signature
    "GET /api/v1/intake/<receipt>/":                   everyone(403),  # unsigned: refused, by signature
    "POST /api/v1/inbound-mail/":                      everyone(403),  # unsigned: refused, by signature
    "GET /api/schema/":                                everyone(200),
    "GET /api/docs/":                                  everyone(200),
    "GET /api/redoc/":                                 everyone(200),
    "GET /api/v1/<anything>":                          everyone(404),  # JSON 404 for unknown API paths

    # Logged in, any role (or none) ------------------------------------------------------------------------------
    "GET /accounts/password_change/":                  (200,   200,   200,   200,   200,   200,   200,   LOGIN),
    "GET /accounts/password_change/done/":             (200,   200,   200,   200,   200,   200,   200,   LOGIN),
    "GET /api/v1/":                                    (200,   200,   200,   200,   200,   200,   200,   401),

    # Desk pages ------------------------------------------------------------------------------------------------
    "GET /":                                           (200,   200,   200,   302,   302,   200,   403,   LOGIN),
    "GET /tickets/new/":                               (200,   200,   200,   403,   403,   403,   403,   LOGIN),
    "POST /tickets/new/":                              (200,   200,   200,   403,   403,   403,   403,   LOGIN),
    "GET /tickets/lookup/":                            (200,   200,   200,   403,   403,   200,   403,   LOGIN),
    "POST /tickets/bulk/":                             (403,   403,   302,   403,   403,   403,   403,   LOGIN),
    "GET /tickets/export.csv":                         (200,   200,   200,   403,   403,   200,   403,   LOGIN),
    "GET /tickets/export.xlsx":                        (200,   200,   200,   403,   403,   200,   403,   LOGIN),
    "GET /tickets/<pk>/":                              (200,   200,   200,   200,   404,   200,   403,   LOGIN),
    "GET /tickets/<pk>/forms/<form>/":                 (200,   200,   200,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/reply/":                       (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/classify/":                    (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/override/":                    (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/transition/":                  (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/summary/":                     (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/take/":                        (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/hand-to-senior/":              (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/keep/":                        (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/confirm-exposure/":            (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/follow-up/":                   (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/customer-link/":               (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/customer-link/sms/":           (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/assign/":                      (403,   403,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/macro/":                       (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/subtasks/":                    (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/solutions/":                   (302,   302,   302,   403,   404,   403,   403,   LOGIN),
    "POST /tickets/<pk>/solutions/<solution_pk>/confirm/": (302, 302, 302,   403,   404,   403,   403,   LOGIN),
    "GET /attachments/<pk>/":                          (200,   200,   200,   200,   404,   200,   403,   LOGIN),
    "GET /approvals/":                                 (403,   403,   200,   403,   403,   403,   403,   LOGIN),
    "POST /approvals/<pk>/decide/":                    (403,   403,   302,   403,   403,   403,   403,   LOGIN),
    "GET /incidents/":                                 (403,   403,   200,   403,   403,   403,   403,   LOGIN),
    "GET /incidents/<pk>/":                            (403,   403,   200,   403,   403,   403,   403,   LOGIN),
    "POST /incidents/<pk>/act/":                       (403,   403,   302,   403,   403,   403,   403,   LOGIN),
    "GET /watch/":                                     (403,   403,   200,   403,   403,   403,   403,   LOGIN),
    "POST /watch/inform/":                             (403,   403,   302,   403,   403,   403,   403,   LOGIN),
    "GET /dashboard/":                                 (403,   403,   200,   403,   403,   403,   403,   LOGIN),
    "GET /undelivered/":                               (403,   403,   200,   403,   403,   403,   403,   LOGIN),
    "POST /undelivered/<pk>/resend/":                  (403,   403,   302,   403,   403,   403,   403,   LOGIN),
    "GET /inbox/":                                     (200,   200,   200,   200,   200,   200,   403,   LOGIN),
    "POST /live/":                                     (200,   200,   200,   200,   200,   200,   403,   LOGIN),
    "GET /subtasks/<pk>/":                             (200,   200,   200,   200,   404,   200,   403,   LOGIN),
    "POST /subtasks/<pk>/act/":                        (302,   302,   302,   302,   404,   302,   403,   LOGIN),
    "POST /subtasks/<pk>/goods/":                      (403,   403,   302,   302,   404,   403,   403,   LOGIN),
    "GET /notifications/":                             (200,   200,   200,   200,   200,   200,   403,   LOGIN),
    # the agent's notification
    "POST /notifications/<pk>/open/":                  (302,   404,   404,   404,   404,   404,   403,   LOGIN),
    "GET /price-differences/":                         (403,   403,   200,   403,   200,   403,   403,   LOGIN),
    "POST /price-differences/upload/":                 (403,   403,   400,   403,   403,   403,   403,   LOGIN),
    "GET /price-differences/<pk>/":                    (403,   403,   200,   403,   200,   403,   403,   LOGIN),
    "POST /price-differences/<pk>/run/":               (403,   403,   302,   403,   403,   403,   403,   LOGIN),
    "POST /price-differences/<pk>/decide/":            (403,   403,   302,   403,   302,   403,   403,   LOGIN),
    "GET /price-differences/<pk>/progress/":           (403,   403,   200,   403,   200,   403,   403,   LOGIN),
    "GET /price-differences/<pk>/errors.csv":          (403,   403,   200,   403,   200,   403,   403,   LOGIN),
    "GET /price-differences/<pk>/report.csv":          (403,   403,   200,   403,   200,   403,   403,   LOGIN),
    "GET /kb/":                                        (200,   200,   200,   200,   200,   200,   403,   LOGIN),
    "GET /kb/new/":                                    (200,   200,   200,   403,   403,   403,   403,   LOGIN),
    "GET /kb/<pk>/":                                   (200,   200,   200,   200,   200,   200,   403,   LOGIN),
    "GET /kb/<pk>/edit/":                              (200,   200,   200,   403,   403,   403,   403,   LOGIN),
    "POST /kb/<pk>/publish/":                          (302,   302,   302,   403,   403,   403,   403,   LOGIN),
    "POST /kb/from-ticket/<pk>/":                      (302,   302,   302,   403,   403,   403,   403,   LOGIN),
    "GET /reports/":                                   (403,   403,   200,   403,   403,   200,   403,   LOGIN),
    "GET /reports/all.xlsx":                           (403,   403,   200,   403,   403,   200,   403,   LOGIN),
    "GET /reports/<name>.csv":                         (403,   403,   200,   403,   403,   200,   403,   LOGIN),
    "GET /reports/<name>.xlsx":                        (403,   403,   200,   403,   403,   200,   403,   LOGIN),
    # saved views: the seeded one is the agent's own (someone else's personal view is not found)
    "POST /views/":                                    (302,   302,   302,   403,   403,   302,   403,   LOGIN),
    "POST /views/<pk>/rename/":                        (302,   404,   404,   403,   403,   404,   403,   LOGIN),
    "POST /views/<pk>/delete/":                        (302,   404,   404,   403,   403,   404,   403,   LOGIN),
    # macros: everyone who works the queue reads them, supervisors manage them
    "GET /macros/":                                    (200,   200,   200,   403,   403,   200,   403,   LOGIN),
    "GET /macros/<pk>/":                               (403,   403,   200,   403,   403,   403,   403,   LOGIN),
    "POST /macros/<pk>/delete/":                       (403,   403,   302,   403,   403,   403,   403,   LOGIN),

    # REST API (/api/v1/): anonymous calls answer 401 (token authentication first) -----------------------
    "GET /api/v1/tickets/":                            (200,   200,   200,   200,   200,   200,   200,   401),
    "POST /api/v1/tickets/":                           (400,   400,   400,   403,   403,   403,   403,   401),
    "GET /api/v1/tickets/<pk>/":                       (200,   200,   200,   200,   404,   200,   404,   401),
    "PUT /api/v1/tickets/<pk>/":                       (405,   405,   405,   405,   405,   405,   405,   401),
    "PATCH /api/v1/tickets/<pk>/":                     (200,   200,   200,   403,   404,   403,   404,   401),
    "POST /api/v1/tickets/<pk>/assign/":               (403,   403,   400,   403,   404,   403,   404,   401),
    "POST /api/v1/tickets/<pk>/attachments/":          (400,   400,   400,   403,   404,   403,   404,   401),
    "POST /api/v1/tickets/<pk>/classify/":             (200,   200,   200,   403,   404,   403,   404,   401),
    "POST /api/v1/tickets/<pk>/solutions/<solution_pk>/confirm/": (400, 400, 400, 403, 404, 403, 404, 401),
    "POST /api/v1/tickets/<pk>/customer-link/":        (200,   200,   200,   403,   404,   403,   404,   401),
    "GET /api/v1/tickets/<pk>/follow-ups/":            (200,   200,   200,   200,   404,   200,   404,   401),
    "POST /api/v1/tickets/<pk>/follow-ups/":           (400,   400,   400,   403,   404,   403,   404,   401),
    "GET /api/v1/tickets/<pk>/messages/":              (200,   200,   200,   200,   404,   200,   404,   401),
    "POST /api/v1/tickets/<pk>/messages/":             (400,   400,   400,   403,   404,   403,   404,   401),
    "GET /api/v1/tickets/<pk>/solutions/":             (200,   200,   200,   200,   404,   200,   404,   401),
    "POST /api/v1/tickets/<pk>/solutions/":            (400,   400,   400,   403,   404,   403,   404,   401),
    "GET /api/v1/tickets/<pk>/subtasks/":              (200,   200,   200,   200,   404,   200,   404,   401),
    "POST /api/v1/tickets/<pk>/subtasks/":             (400,   400,   400,   403,   404,   403,   404,   401),
    "POST /api/v1/tickets/<pk>/summary/":              (400,   400,   400,   403,   404,   403,   404,   401),
    "GET /api/v1/tickets/<pk>/surveys/":               (200,   200,   200,   200,   404,   200,   404,   401),
    "POST /api/v1/tickets/<pk>/take/":                 (200,   200,   200,   403,   404,   403,   404,   401),
    "POST /api/v1/tickets/<pk>/transitions/":          (400,   400,   400,   403,   404,   403,   404,   401),
    "GET /api/v1/subtasks/":                           (200,   200,   200,   200,   200,   200,   200,   401),
    "GET /api/v1/subtasks/<pk>/":                      (200,   200,   200,   200,   404,   200,   404,   401),
    "POST /api/v1/subtasks/<pk>/transitions/":         (400,   400,   400,   400,   404,   400,   404,   401),
    "GET /api/v1/customers/":                          (200,   200,   200,   200,   200,   200,   200,   401),
    "GET /api/v1/customers/<pk>/":                     (200,   200,   200,   200,   404,   200,   404,   401),
    "GET /api/v1/orders/":                             (200,   200,   200,   200,   200,   200,   200,   401),
    "GET /api/v1/orders/<pk>/":                        (200,   200,   200,   200,   404,   200,   404,   401),
    "GET /api/v1/notifications/":                      (200,   200,   200,   200,   200,   200,   200,   401),
    # the agent's notification
    "POST /api/v1/notifications/<pk>/read/":           (200,   404,   404,   404,   404,   404,   404,   401),
    "GET /api/v1/approvals/":                          (200,   200,   200,   200,   200,   200,   200,   401),
    # the agent asked for this approval: they see it, and may not decide it
    "GET /api/v1/approvals/<pk>/":                     (200,   404,   200,   404,   404,   404,   404,   401),
    "POST /api/v1/approvals/<pk>/decide/":             (403,   403,   400,   403,   403,   403,   403,   401),
    "GET /api/v1/incidents/":                          (403,   403,   200,   403,   403,   403,   403,   401),
    "GET /api/v1/incidents/<pk>/":                     (403,   403,   200,   403,   403,   403,   403,   401),
    "PATCH /api/v1/incidents/<pk>/":                   (403,   403,   200,   403,   403,   403,   403,   401),
    "POST /api/v1/incidents/<pk>/act/":                (403,   403,   400,   403,   403,   403,   403,   401),
    "POST /api/v1/incidents/<pk>/exclusions/":         (403,   403,   400,   403,   403,   403,   403,   401),
    "GET /api/v1/incidents/<pk>/preview/":             (403,   403,   200,   403,   403,   403,   403,   401),
    "GET /api/v1/articles/":                           (200,   200,   200,   200,   200,   200,   200,   401),
    "POST /api/v1/articles/":                          (400,   400,   400,   403,   403,   403,   403,   401),
    "POST /api/v1/articles/from-ticket/":              (400,   400,   400,   403,   403,   403,   403,   401),
    "GET /api/v1/articles/<pk>/":                      (200,   200,   200,   200,   200,   200,   404,   401),
    "PUT /api/v1/articles/<pk>/":                      (405,   405,   405,   405,   405,   405,   405,   401),
    "PATCH /api/v1/articles/<pk>/":                    (200,   200,   200,   403,   403,   403,   404,   401),
    "POST /api/v1/articles/<pk>/publish/":             (200,   200,   200,   403,   403,   403,   404,   401),
    "POST /api/v1/articles/<pk>/unpublish/":           (200,   200,   200,   403,   403,   403,   404,   401),
    "GET /api/v1/reports/<name>/":                     (403,   403,   200,   403,   403,   200,   403,   401),
}
# fmt: on
assert all(len(row) == len(ROLES) for row in ROUTES.values()), "every row has one outcome per role"

# Reachable without logging in: the login and password-reset pages, the health check, the language
# switch, the public FAQ, the customer's signed link, the API schema and docs, and the signed platform and
# mail webhooks (which refuse anything their source did not sign). Everyone gets the same answer there.
PUBLIC = frozenset({
    "GET /healthz", "GET /accounts/login/", "POST /accounts/logout/", "GET /accounts/password_reset/",
    "GET /accounts/password_reset/done/", "GET /accounts/reset/<uidb64>/<token>/", "GET /accounts/reset/done/",
    "POST /i18n/setlang/", "GET /faq/", "GET /faq/<pk>/", "GET /c/<token>/", "POST /c/<token>/confirm/",
    "POST /c/<token>/evidence/", "POST /c/<token>/survey/", "POST /api/v1/intake/", "GET /api/v1/intake/<receipt>/",
    "POST /api/v1/inbound-mail/", "GET /api/schema/",
    "GET /api/docs/", "GET /api/redoc/", "GET /api/v1/<anything>",
})


# The walk ------------------------------------------------------------------------------------------------------


def _readable(pattern: str) -> str:
    r"""`api/v1/^tickets/(?P<pk>[0-9]+)/$` -> `/api/v1/tickets/<pk>/`; `<int:pk>` -> `<pk>`;
    the API's catch-all `^[\s\S]*$` -> `<anything>`."""
    route = pattern.replace(r"^[\s\S]*$", "<anything>")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route)
    route = re.sub(r"<\w+:(\w+)>", r"<\1>", route)
    return "/" + route.replace("\\.", ".").replace("$", "").replace("^", "")


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def _api_methods(callback) -> list[str] | None:
    """DRF views: the methods their route answers (a viewset's mapped actions, an APIView's handlers).
    None for Django views, whose method the table states."""
    view_class = getattr(callback, "cls", None)  # set by DRF's as_view()
    if view_class is None:
        return None
    # A viewset adds HEAD to its actions on its first request; HEAD and OPTIONS follow GET.
    methods = getattr(callback, "actions", None) or [m for m in view_class.http_method_names if hasattr(view_class, m)]
    return sorted(m.upper() for m in methods if m not in ("head", "options"))


def site_routes() -> dict[str, dict]:
    """Every walked route -> {"methods": API methods (None for Django views), "view": dotted name}."""
    routes = {}
    for pattern, callback in _walk(get_resolver().url_patterns):
        route = _readable(pattern)
        if route.startswith(EXCLUDED_PREFIXES):
            continue
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None) or callback
        routes[route] = {"methods": _api_methods(callback), "view": f"{view.__module__}.{view.__name__}"}
    return routes


def _rows_by_route() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for key in ROUTES:
        method, route = key.split(" ", 1)
        rows.setdefault(route, []).append(method)
    return rows


def test_every_route_has_a_row_and_every_row_a_route():
    routes, rows = site_routes(), _rows_by_route()
    missing = []
    for route, info in sorted(routes.items()):
        if info["methods"] is None:
            if route not in rows:
                missing.append(f"{route}  ({info['view']}): no row; add 'GET {route}' or 'POST {route}'")
        else:
            missing += [f"{method} {route}  ({info['view']}): no row" for method in info["methods"]
                        if method not in rows.get(route, [])]
    assert not missing, (
        "Routes not in the access matrix (tests/test_route_access.py ROUTES). Add a row saying what every "
        "role gets:\n  " + "\n  ".join(missing)
    )
    stale = [key for key in ROUTES if key.split(" ", 1)[1] not in routes]
    assert not stale, f"Rows naming no route (removed or renamed?): {stale}"
    api_methods = {route: info["methods"] for route, info in routes.items() if info["methods"]}
    unmapped = [key for key in ROUTES if key.split(" ", 1)[1] in api_methods
                and key.split(" ", 1)[0] not in api_methods[key.split(" ", 1)[1]]]
    assert not unmapped, f"Rows for a method the API route does not map: {unmapped}"


# The seed --------------------------------------------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 40 + b"\xff\xd9"


@pytest.fixture
def seeded_desk(db, settings, tmp_path):
    """One of everything a route can name, and the people who ask for it."""
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    settings.MEDIA_ROOT = tmp_path
    users = {
        "agent": make_user("agent", username="walk-agent"),
        "senior": make_user("senior_agent", username="walk-senior"),
        "supervisor": make_user("supervisor", username="walk-super"),
        "warehouse": make_user("department_staff", username="walk-wh", department="warehouse"),
        "finance": make_user("department_staff", username="walk-fin", department="finance"),
        "admin": make_user("admin", username="walk-admin"),
        "plain": UserFactory(username="walk-plain"),
        "anon": None,
    }
    agent, supervisor = users["agent"], users["supervisor"]

    # A ticket in progress, unassigned, waiting on the warehouse; a refund above the agent's limit (¥200)
    # agreed with the customer waits for a supervisor's approval.
    order = OrderFactory(customer=CustomerFactory(), paid_amount=Decimal("300.00"))
    item = OrderItemFactory(order=order, unit_price=Decimal("300.00"), paid_amount=Decimal("300.00"))
    ticket = services.ticket_create(
        actor=agent, channel="chat", description="少发了配件", customer=order.customer, order=order,
        affected_items=[item], type="refund_only", category="wrong_or_missing_item",
    )
    ticket = services.ticket_classify(ticket=ticket, actor=agent, responsibility="merchant")
    for action in ("triage", "start"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=agent)
    subtask = subtask_create(ticket=ticket, actor=agent, department=Department.objects.get(code="warehouse"),
                             kind=Subtask.Kind.INSPECT_RETURN, description="检查退回的商品")
    solution = playbook.solution_propose(ticket=ticket, actor=agent, kind="refund_only", amount=Decimal("280"),
                                         return_required=False)
    playbook.solution_confirm(solution=solution, actor=agent, channel="chat", text="同意退款280元")
    approval = ApprovalRequest.objects.get(ticket=ticket, status=ApprovalRequest.Status.PENDING)
    attachment = services.attachment_add(ticket=ticket, actor=agent,
                                         upload=SimpleUploadedFile("photo.jpg", JPEG, content_type="image/jpeg"))
    link, _until = customer_link_issue(ticket=ticket, actor=agent)
    notification = Notification.objects.create(
        recipient=agent, kind=Notification.Kind.SUBTASK_DUE_SOON, ticket=ticket, subtask=subtask, dedupe_key="walk"
    )
    article = knowledge.article_create(author=agent, title="少件怎么办", body="核对订单后补寄。", language="zh-hans",
                                       is_faq=True)
    article = knowledge.article_publish(article=article, actor=agent)
    now = timezone.now()
    incident = Incident.objects.create(
        title="拉链批次问题", cause=Incident.Cause.PRODUCT_DEFECT, product=item.product, category="product_quality",
        window_start=now - timedelta(days=1), window_end=now,
    )
    drop = OrderFactory(external_number="TB-WALK-1", customer=CustomerFactory(), placed_at=now - timedelta(days=3))
    OrderItemFactory(order=drop, product=ProductFactory(sku="SKU-WALK-1"), unit_price=Decimal("100.00"),
                     paid_amount=Decimal("100.00"))
    batch, _created = pricediff.pricediff_preview(
        actor=supervisor, file_name="walk.csv",
        content="订单号,商品编码,新价格,原因\nTB-WALK-1,SKU-WALK-1,90,降价\n".encode("utf-8-sig"),
    )
    saved_view = SavedView.objects.create(owner=agent, name="walk", query="queue=mine")
    macro = Macro.objects.create(name="walk", body="您好")
    reply = Message.objects.create(ticket=ticket, direction=Message.Direction.OUTBOUND, body="您好", author=agent)
    undelivered = Delivery.objects.create(message=reply, channel=Delivery.Channel.EMAIL,
                                          state=Delivery.State.NO_CHANNEL, last_error="no mailbox")
    ids = {
        "tickets": ticket.pk, "subtasks": subtask.pk, "customers": ticket.customer_id, "orders": order.pk,
        "approvals": approval.pk, "attachments": attachment.pk, "notifications": notification.pk,
        "incidents": incident.pk, "price-differences": batch.pk, "kb": article.pk, "faq": article.pk,
        "articles": article.pk, "views": saved_view.pk, "macros": macro.pk,
        "undelivered": undelivered.pk,
    }
    values = {
        "<solution_pk>": str(solution.pk), "<token>": link.split("/")[2], "<name>": "volume", "<form>": "classify",
        "<uidb64>": "MQ", "<anything>": "no-such-thing/", "<receipt>": "6f1c2d3e-4b5a-4c6d-8e7f-000000000000",
    }
    return {"users": users, "ids": ids, "values": values}


def _path(route: str, seed) -> str:
    """The route with its parameters naming seeded rows; `<pk>` names a row of the route's resource."""
    path = route
    if route.startswith("/accounts/reset/"):
        path = path.replace("<token>", "set-password")
    resource = route.removeprefix("/api/v1/").lstrip("/").split("/")[0]
    if route.startswith("/kb/from-ticket/"):
        resource = "tickets"
    if "<pk>" in path:
        path = path.replace("<pk>", str(seed["ids"][resource]))
    for placeholder, value in seed["values"].items():
        path = path.replace(placeholder, value)
    return path


WATCHED = (Ticket, TicketEvent, Message, Attachment, Subtask, Solution, ApprovalRequest, Refund, Incident,
           KnowledgeArticle, PriceDiffBatch, FollowUp, SatisfactionSurvey, Customer, Order, Notification, SavedView,
           Macro, Delivery)


def _state():
    """What a refused call must not change: row counts, and the states that a write would move."""
    return (
        [model.objects.count() for model in WATCHED],
        list(Ticket.objects.order_by("pk").values_list("pk", "status", "assignee_id", "updated_at",
                                                       "customer_link_key")),
        list(Subtask.objects.order_by("pk").values_list("pk", "status", "assignee_id", "result")),
        list(ApprovalRequest.objects.order_by("pk").values_list("pk", "status")),
        list(Incident.objects.order_by("pk").values_list("pk", "status", "affected_from", "affected_to")),
        list(PriceDiffBatch.objects.order_by("pk").values_list("pk", "status", "decided_by_id")),
        list(KnowledgeArticle.objects.order_by("pk").values_list("pk", "status", "updated_at")),
        list(Notification.objects.order_by("pk").values_list("pk", "read_at")),
    )


def _outcome(response):
    if response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL):
        return LOGIN
    return response.status_code


def _call(user, method: str, path: str):
    """(outcome, changed anything?) for one request, rolled back afterwards."""
    cache.clear()  # rate-limit counters (the customer link's) live in the cache
    client = Client(raise_request_exception=True)
    if user is not None:
        client.force_login(user)
    kwargs = {"content_type": "application/json", "data": ""} if method in ("PUT", "PATCH") else {}
    before = _state()
    try:
        with transaction.atomic():
            response = getattr(client, method.lower())(path, **kwargs)
            changed = _state() != before
            transaction.set_rollback(True)
    except Exception as error:  # a 500: name it in the report instead of stopping the walk
        return f"500 {type(error).__name__}: {error}", False
    return _outcome(response), changed


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_the_matrix_says(seeded_desk, role):
    user = seeded_desk["users"][role]
    column = ROLES.index(role)
    wrong = []
    for key, row in ROUTES.items():
        method, route = key.split(" ", 1)
        path = _path(route, seeded_desk)
        got, changed = _call(user, method, path)
        if got != row[column]:
            wrong.append(f"{key} ({path}): expected {row[column]}, got {got}")
        elif got in REFUSALS and changed:
            wrong.append(f"{key} ({path}): refused ({got}) but the data changed")
    assert not wrong, f"as {role}:\n  " + "\n  ".join(wrong)


def test_pages_that_only_take_a_post_refuse_a_get(seeded_desk):
    """A POST-only page must not act on a GET (a link or an <img> could trigger it)."""
    rows = _rows_by_route()
    post_only = [route for route, methods in rows.items() if methods == ["POST"]
                 and not route.startswith("/api/") and route not in ("/accounts/logout/", "/i18n/setlang/")]
    answers = {route: _call(seeded_desk["users"]["supervisor"], "GET", _path(route, seeded_desk))[0]
               for route in post_only}
    assert answers == dict.fromkeys(post_only, 405)


def test_only_the_public_routes_let_anonymous_visitors_in():
    """Public rows answer everyone alike; every other row refuses an anonymous visitor."""
    assert PUBLIC <= set(ROUTES)
    anon = ROLES.index("anon")
    unequal = [key for key in PUBLIC if len(set(ROUTES[key])) != 1]
    open_to_anon = [key for key in set(ROUTES) - PUBLIC if ROUTES[key][anon] not in (LOGIN, 401)]
    assert not unequal, f"public rows that treat someone differently: {unequal}"
    assert not open_to_anon, f"rows not listed as public that let an anonymous visitor in: {open_to_anon}"


def test_matrix_summary(capsys):
    """The counts of the matrix, printed for the record (shown even under -q)."""
    routes = site_routes()
    outcomes = Counter(str(outcome) for row in ROUTES.values() for outcome in row)
    api_rows = sum(1 for key in ROUTES if key.split(" ", 1)[1].startswith("/api/"))
    summary = (
        f"route access matrix: {len(routes)} routes walked (/admin/ and static/media left out), "
        f"{len(ROUTES)} rows (route x method; "
        f"{api_rows} API, {len(ROUTES) - api_rows} pages; {len(PUBLIC)} public), {len(ROLES)} roles, "
        f"{len(ROUTES) * len(ROLES)} cells; outcomes: "
        + ", ".join(f"{outcome}: {n}" for outcome, n in sorted(outcomes.items()))
    )
    with capsys.disabled():
        print("\n" + summary)
    assert sum(outcomes.values()) == len(ROUTES) * len(ROLES)


# `next`: back to the page a form came from, never to another site ------------------------------------------

ELSEWHERE = [
    "https://evil.example/login",  # another site
    "//evil.example/login",  # scheme-relative: another site too
    "/\\evil.example/login",  # browsers read the backslash as a slash
    "https:///evil.example/login",
    "javascript:alert(1)",
    "http://testserver/inbox/",  # this host, but not a path: only local paths are taken
    "queue",  # a bare word: redirect() would try it as a view name and fail with a 500
    "",
]


@pytest.fixture
def next_forms(db, settings, supervisor, warehouse_staff, agent):
    """The three forms that send `next`: assign (supervisor), bulk action (supervisor), subtask action
    (the warehouse starting its subtask); each with the page it goes back to by default."""
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    ticket = services.ticket_create(actor=agent, channel="chat", description="少发了配件", customer=CustomerFactory(),
                                    type="return_refund", category="wrong_or_missing_item")
    for action in ("triage", "start"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=agent)
    subtask = subtask_create(ticket=ticket, actor=agent, department=Department.objects.get(code="warehouse"),
                             kind=Subtask.Kind.INSPECT_RETURN, description="检查退回的商品")
    return {
        "assign": (supervisor, f"/tickets/{ticket.pk}/assign/", {}, f"/tickets/{ticket.pk}/"),
        "bulk": (supervisor, "/tickets/bulk/", {}, "/"),
        "subtask_act": (warehouse_staff, f"/subtasks/{subtask.pk}/act/", {"action": "start"},
                        f"/subtasks/{subtask.pk}/"),
    }


@pytest.mark.parametrize("form", ["assign", "bulk", "subtask_act"])
@pytest.mark.parametrize("target", ELSEWHERE)
def test_next_pointing_anywhere_but_a_local_path_goes_to_the_default_page(next_forms, form, target):
    user, url, data, default = next_forms[form]
    client = Client()
    client.force_login(user)

    response = client.post(url, {**data, "next": target})

    assert response.status_code == 302
    assert response["Location"] == default


@pytest.mark.parametrize("form", ["assign", "bulk", "subtask_act"])
def test_next_naming_a_local_path_is_followed(next_forms, form):
    user, url, data, _default = next_forms[form]
    client = Client()
    client.force_login(user)

    response = client.post(url, {**data, "next": "/inbox/?view=mine"})

    assert response.status_code == 302
    assert response["Location"] == "/inbox/?view=mine"
