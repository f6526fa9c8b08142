"""Department staff see what their subtask needs and nothing more (issue 16 item 6, DESIGN "Who uses it").

The demo data is seeded, then the desk is walked as the demo warehouse and finance users the way a
curious person would, with nothing listed by hand that the desk itself can tell us:
- every route without parameters (Django's URL resolver), every route taking a report name, and every
  route taking one id with the ids of every ticket, subtask and price-difference batch;
- every link, htmx `hx-get` and image in every page reached (navigation, inbox tabs and pages, subtask
  and ticket pages, notifications, price-difference batches and their CSV reports), and every redirect;
- every route of the API router: lists and the pages behind their cursors, every object's detail and
  its read-only actions (ids from every row of the model, not only the ones listed);
- the search boxes (every GET form in a page reached, and the ticket queue) and every API list, with
  `q` = each demo customer's name and phone;
- the notifications they get (due-soon and overdue subtasks, a price-difference batch to approve) and
  the e-mails sent for them.
No answer may contain a demo customer's full name (2+ characters), phone, e-mail, platform account
or address: the masked forms (王*, 138****5678, ...) are what they see. The walk also checks that it
really reached its pages, and that the same check finds the full values for an agent.
"""

import csv
import html
import io
import json
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from openpyxl import load_workbook

from customers.masking import mask_name, mask_phone
from customers.models import Customer
from customers.services import SHOP_ACCOUNT
from orders.models import Order, OrderItem
from tickets.api.urls import router
from tickets.models import Subtask, Ticket
from tickets.pricediff import services as pricediff
from tickets.pricediff.models import PriceDiffBatch
from tickets.pricediff.upload import price_protection_days
from tickets.reports.queries import REPORTS
from tickets.sla.mail import notifications_send_emails
from tickets.sla.subtask_sweep import subtask_sweep

pytestmark = pytest.mark.django_db

API = "/api/v1/"
# Never requested: files, the language switch, logging out, and the customers' own signed pages.
SKIPPED_PREFIXES = ("/static/", "/media/", "/i18n/", "/accounts/logout/", "/c/")
MAX_REQUESTS = 6000  # a walk that grows past this is exploring query-string variants: fail, do not skip (a
# department user reaches 2,300–3,100 URLs, depending on what the demo intake assigned to whom)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# The demo data --------------------------------------------------------------------------------


@dataclass
class Demo:
    customers: list[Customer]
    users: dict


def _price_difference_batches(supervisor, settings, on_commit) -> None:
    """Two batches over demo orders: one run (finance gets its payment subtask and report), one held
    for a second person's approval (finance is notified)."""
    window_start = timezone.now() - timedelta(days=price_protection_days() - 1)
    items = (OrderItem.objects.filter(order__placed_at__gte=window_start)
             .exclude(order__status=Order.Status.CANCELLED).select_related("order", "product").order_by("id"))
    rows = [(item.order.external_number, item.product.sku, f"{item.paid_amount / item.quantity - 10:.2f}", "618 降价")
            for item in items]
    assert rows, "the demo has orders inside the price-protection window"
    for name, chunk in (("618.csv", rows[::2]), ("618-b.csv", rows[1::2] + [("NO-SUCH-ORDER", "SKU", "1", "")])):
        if name == "618-b.csv":
            settings.PRICEDIFF_APPROVAL_TOTAL = "0.01"  # the second batch waits for another person
        out = io.StringIO()
        csv.writer(out).writerows([("订单号", "商品编码", "新价格", "原因"), *chunk])
        batch, _created = pricediff.pricediff_preview(actor=supervisor, file_name=name,
                                                      content=out.getvalue().encode())
        with on_commit(execute=True):
            pricediff.pricediff_execute(batch=batch, actor=supervisor)
    statuses = set(PriceDiffBatch.objects.values_list("status", flat=True))
    assert statuses == {PriceDiffBatch.Status.DONE, PriceDiffBatch.Status.AWAITING_APPROVAL}


@pytest.fixture
def demo(settings, django_capture_on_commit_callbacks) -> Demo:
    call_command("seed_demo", "--allow-production", stdout=io.StringIO())  # the tests run with DEBUG off
    customers = list(Customer.objects.exclude(platform_account=SHOP_ACCOUNT))
    users = {u.username: u for u in get_user_model().objects.all()}
    for username in ("warehouse", "finance"):
        users[username].email = f"{username}@desk.example"
        users[username].save(update_fields=["email"])
    _price_difference_batches(users["supervisor"], settings, django_capture_on_commit_callbacks)
    subtask_sweep(now=timezone.now() + timedelta(days=30))  # every open subtask due soon, then overdue
    notifications_send_emails()
    return Demo(customers=customers, users=users)


def _needles(customers) -> dict[str, tuple[str, str]]:
    """Every full value that must not be shown → (whose, which field), for the failure message."""
    needles = {}
    for c in customers:
        for label, value in (("name", c.name), ("phone", c.phone), ("e-mail", c.email),
                             ("platform account", c.platform_account), ("address", c.address)):
            if value and (label != "name" or len(value) >= 2):
                needles[value] = (c.name, label)
    return needles


# Reading answers ------------------------------------------------------------------------------


class _PageParser(HTMLParser):
    """The URLs a page offers to GET (links, htmx, images) and its GET forms with their fields."""

    def __init__(self):
        super().__init__()
        self.urls, self.forms, self._form = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src", "hx-get"):
            if attrs.get(name):
                self.urls.append(attrs[name])
        if tag == "form":
            self._form = {"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(),
                          "fields": {}, "search": []}
            self.forms.append(self._form)
        elif tag in ("input", "textarea") and self._form is not None and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            if tag == "textarea" or kind in ("text", "search"):
                self._form["search"].append(attrs["name"])
            elif kind == "hidden":
                self._form["fields"][attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def _body_text(response) -> str | None:
    """The answer as text a person would read, or None for a binary file (an evidence photo)."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    content_type = response.get("Content-Type", "")
    if content_type.startswith(XLSX):
        workbook = load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(str(cell) for sheet in workbook.worksheets
                         for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None)
    if not re.match(r"(text/|application/(json|javascript|xml|.*\+json|vnd\.oai))", content_type):
        return None
    text = content.decode("utf-8-sig", errors="replace")
    if "json" in content_type:
        try:
            return text + "\n" + json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            return text
    return html.unescape(text)


def _json_urls(value) -> list[str]:
    if isinstance(value, dict):
        return [u for v in value.values() for u in _json_urls(v)]
    if isinstance(value, list):
        return [u for v in value for u in _json_urls(v)]
    return [value] if isinstance(value, str) and value.startswith("http://testserver/") else []


# The walk ---------------------------------------------------------------------------------------


@dataclass
class Walk:
    client: object
    needles: dict[str, tuple[str, str]]
    statuses: dict[str, int] = field(default_factory=dict)
    leaks: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # url → [(whose, which field)]
    bodies: dict[str, str] = field(default_factory=dict)
    queue: deque = field(default_factory=deque)
    queued: set = field(default_factory=set)
    typed: dict[str, str] = field(default_factory=dict)  # search URL → the value the walk typed in
    search_forms: dict[str, dict] = field(default_factory=dict)
    list_ids: dict[str, set] = field(default_factory=dict)

    def add(self, url: str, base: str = "/") -> None:
        parts = urlsplit(urljoin("http://testserver" + base, html.unescape(url.strip())))
        if parts.scheme not in ("http", "https") or parts.netloc != "testserver":  # mailto:, another site
            return
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not path.startswith(SKIPPED_PREFIXES) and path not in self.queued:
            self.queued.add(path)
            self.queue.append(path)

    def drain(self) -> None:
        while self.queue:
            url = self.queue.popleft()
            if url in self.statuses:
                continue
            assert len(self.statuses) < MAX_REQUESTS, f"the walk went past {MAX_REQUESTS} URLs; last: {url}"
            self.fetch(url)

    def fetch(self, url: str) -> None:
        response = self.client.get(url)
        self.statuses[url] = response.status_code
        if response.status_code in (301, 302, 303, 307, 308):
            self.add(response["Location"], base=url)
        if response.status_code != 200:
            return
        text = _body_text(response)
        if text is None:
            return
        # The page's own address (the language menu's "next") and a search box showing back what was
        # typed in it are what the user sent, not something the desk revealed.
        text = text.replace(url, "")
        if url in self.typed:
            text = text.replace(f'value="{self.typed[url]}"', 'value=""')
        self.bodies[url] = text
        found = [whose_what for needle, whose_what in self.needles.items() if needle in text]
        if found:
            self.leaks[url] = found
        content_type = response.get("Content-Type", "")
        if "json" in content_type:
            data = json.loads(response.content)
            for link in _json_urls(data):
                self.add(link, base=url)
            if isinstance(data, dict) and isinstance(data.get("results"), list):
                self.list_ids.setdefault(urlsplit(url).path, set()).update(
                    row["id"] for row in data["results"] if isinstance(row, dict) and "id" in row)
        elif content_type.startswith("text/html"):
            page = _PageParser()
            page.feed(response.content.decode())
            for link in page.urls:
                self.add(link, base=url)
            for form in page.forms:
                if form["method"] == "get" and form["search"]:
                    action = urlsplit(urljoin(url, form["action"] or url)).path
                    self.search_forms.setdefault(action, form)


def _routes(resolvers=None, prefix=""):
    """Every browser route as (path template, converters) from Django's resolver (the admin and the
    API router's regex routes are left to their own entries: /admin/ and the router)."""
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        if not isinstance(entry.pattern, RoutePattern):
            continue
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                yield "admin/", {}
                continue
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.pattern.converters


def _route_urls(ids: set[int]) -> list[str]:
    urls = []
    for route, converters in _routes():
        names = {name: type(converter).__name__ for name, converter in converters.items()}
        if not names:
            urls.append("/" + route)
        elif names == {"name": "SlugConverter"}:
            urls += ["/" + route.replace("<slug:name>", name) for name in REPORTS]
        elif len(names) == 1 and list(names.values()) == ["IntConverter"]:
            placeholder = re.search(r"<int:\w+>", route).group(0)
            urls += ["/" + route.replace(placeholder, str(pk)) for pk in sorted(ids)]
    return urls


def _router_models():
    """Each registered API resource: its list URL, its model (to try every id) and its GET actions."""
    for prefix, viewset, _basename in router.registry:
        view = viewset()
        view.action, view.request, view.format_kwarg, view.kwargs = "retrieve", None, None, {}
        queryset = getattr(viewset, "queryset", None)
        try:
            model = queryset.model if queryset is not None else view.get_serializer_class().Meta.model
        except (AttributeError, AssertionError):
            model = None
        actions = [a for a in viewset.get_extra_actions() if "get" in a.mapping]
        yield (f"{API}{prefix}/", model, hasattr(viewset, "retrieve"),
               [a.url_path for a in actions if a.detail], [a.url_path for a in actions if not a.detail])


def walk_as(client, demo: Demo) -> Walk:
    walk = Walk(client=client, needles=_needles(demo.customers))
    ids = set(Ticket.objects.values_list("pk", flat=True)) | set(Subtask.objects.values_list("pk", flat=True)) \
        | set(PriceDiffBatch.objects.values_list("pk", flat=True))
    for url in _route_urls(ids):
        walk.add(url)
    resources = list(_router_models())
    for list_url, _model, _retrieve, _detail_actions, list_actions in resources:
        walk.add(list_url)
        for action in list_actions:
            walk.add(f"{list_url}{action}/")
    walk.drain()
    for list_url, model, retrieve, detail_actions, _list_actions in resources:
        candidates = walk.list_ids.get(list_url, set())
        if model is not None:
            candidates |= set(model.objects.values_list("pk", flat=True))
        for pk in sorted(candidates):
            if retrieve:
                walk.add(f"{list_url}{pk}/")
            for action in detail_actions:
                walk.add(f"{list_url}{pk}/{action}/")
    walk.drain()
    # Search: a customer's name and phone in every search box, the ticket queue and every API list.
    searches = [value for c in demo.customers for value in (c.name, c.phone) if value]
    for action, form in {"/": {"fields": {}, "search": ["q"]}, **walk.search_forms}.items():
        for value in searches:
            url = f"{action}?{urlencode({**form['fields'], **dict.fromkeys(form['search'], value)})}"
            walk.typed[url] = value
            walk.add(url)
    for list_url, *_rest in resources:
        for value in searches:
            walk.add(f"{list_url}?{urlencode({'q': value})}")
    walk.drain()
    return walk


def _summary(walk: Walk) -> str:
    kinds = Counter(("api" if url.startswith(API) else "page") + f" {status}" for url, status in walk.statuses.items())
    return f"{len(walk.statuses)} URLs: " + ", ".join(f"{k} ×{n}" for k, n in sorted(kinds.items()))


# The scan ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["warehouse", "finance"])
def test_department_staff_reach_no_customer_contact_details_anywhere(client, demo, username):
    user = demo.users[username]
    client.force_login(user)

    walk = walk_as(client, demo)
    print(f"\n{username}: {_summary(walk)}")

    assert not walk.leaks, f"full customer details shown to {username}:\n" + "\n".join(
        f"  {url}: " + ", ".join(f"{whose}'s {what}" for whose, what in found)
        for url, found in sorted(walk.leaks.items()))
    assert not [url for url, status in walk.statuses.items() if status >= 500]
    # The walk reached what the role works with, so the clean result means something.
    department = user.staff_profile.department
    subtasks = list(Subtask.objects.filter(department=department).select_related("ticket__customer"))
    assert subtasks and all(walk.statuses.get(f"/subtasks/{s.pk}/") == 200 for s in subtasks)
    assert all(walk.statuses.get(f"/tickets/{s.ticket_id}/") == 200 for s in subtasks)
    assert all(walk.statuses.get(f"{API}tickets/{s.ticket_id}/") == 200 for s in subtasks)
    assert walk.statuses["/inbox/"] == walk.statuses["/notifications/"] == walk.statuses[f"{API}customers/"] == 200
    assert "/inbox/?view=done" in walk.statuses and f"{API}notifications/" in walk.statuses
    customer = next(s.ticket.customer for s in subtasks if s.ticket.customer.platform_account != SHOP_ACCOUNT)
    shown = walk.bodies[f"/subtasks/{next(s.pk for s in subtasks if s.ticket.customer == customer)}/"]
    assert mask_name(customer.name) in shown and mask_phone(customer.phone) in shown
    assert mask_name(customer.name) in walk.bodies[f"{API}customers/{customer.pk}/"]
    assert any(url.startswith(f"{API}tickets/?q=") and '"id"' in walk.bodies.get(url, "") for url in walk.statuses)
    exports = [f"/reports/{name}.{kind}" for name in REPORTS for kind in ("csv", "xlsx")] + ["/reports/all.xlsx"]
    assert {walk.statuses[url] for url in exports + [f"{API}reports/{name}/" for name in REPORTS]} == {403}
    mails = [m.subject + "\n" + m.body for m in mail.outbox if user.email in m.to]
    assert mails and not [needle for needle in walk.needles for text in mails if needle in text]
    if username == "finance":
        reports = {url for url, status in walk.statuses.items()
                   if status == 200 and re.fullmatch(r"/price-differences/\d+/(report|errors)\.csv", url)}
        batches = PriceDiffBatch.objects.values_list("pk", flat=True)
        assert reports == {f"/price-differences/{pk}/{kind}.csv" for pk in batches for kind in ("report", "errors")}
        assert any("NO-SUCH-ORDER" in walk.bodies[url] for url in reports)


def test_the_scan_finds_full_details_where_an_agent_may_read_them(client, demo):
    """The check is not vacuous: an agent's customer list and ticket page hold the full values."""
    client.force_login(demo.users["agent"])
    walk = Walk(client=client, needles=_needles(demo.customers))
    ticket = Ticket.objects.filter(customer__in=demo.customers).first()

    for url in (f"{API}customers/?page_size=100", f"/tickets/{ticket.pk}/", f"{API}tickets/{ticket.pk}/"):
        walk.fetch(url)

    assert {c.name for c in demo.customers} <= {whose for found in walk.leaks.values() for whose, _what in found}
    on_the_page = set(walk.leaks[f"/tickets/{ticket.pk}/"])
    assert {(ticket.customer.name, "name"), (ticket.customer.name, "phone")} <= on_the_page
