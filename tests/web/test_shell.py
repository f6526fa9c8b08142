"""The desk's one shell (templates/jinja2/base.html): the hot pages (Jinja2) extend it, the Django pages reach it
through templates/base.html's {% jinja %}. Both wear the same header, and a page's forms carry one CSRF token."""

import re

import pytest
from django.test import Client

from tests.factories import CustomerFactory, make_user
from tickets import services
from tickets.models import Message, Ticket
from tickets.portal.links import customer_link_issue

pytestmark = pytest.mark.django_db

TOKENS = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"|"X-CSRFToken": "([^"]+)"|data-csrf="([^"]+)"')


def _header(html: str) -> str:
    """The page's header, without what is each page's own: the language menu's way back, the CSRF token."""
    header = html[html.index('<header class="topbar">'):html.index("</header>")]
    return re.sub(r'(name="next" type="hidden"|name="csrfmiddlewaretoken") value="[^"]*"', "", header)


@pytest.fixture
def supervisor_client():
    supervisor = make_user("supervisor", username="shell_sup")
    supervisor.first_name, supervisor.last_name = "李", "<主管>"
    supervisor.save()
    client = Client()
    client.force_login(supervisor)
    return client


@pytest.mark.parametrize("hot,plain", [("/dashboard/", "/kb/"), ("/?queue=open", "/approvals/")])
def test_a_hot_page_and_a_django_page_wear_the_same_header(supervisor_client, hot, plain):
    supervisor_client.cookies["django_language"] = "zh-hans"
    pages = [supervisor_client.get(path) for path in (hot, plain)]
    assert [page.status_code for page in pages] == [200, 200]
    hot_html, plain_html = (page.content.decode() for page in pages)

    for html in (hot_html, plain_html):
        assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-hans">' in html
        assert html.count("<body") == 1 and html.count("</html>") == 1  # the shell once, around the content
        assert re.search(r"<title>[^<]+ · 售后工作台</title>", html)
        assert 'id="language-switch"' in html and '<option value="zh-hans" selected>简体中文</option>' in html
    header = _header(hot_html)
    assert header == _header(plain_html)
    assert 'href="/dashboard/"' in header and 'id="nav-incidents"' in header and 'action="/accounts/logout/"' in header
    assert "李 &lt;主管&gt;" in header  # the name escaped
    assert hot_html.count('<script src="/static/js/live.js" defer></script>') == 1


def test_a_hot_page_masks_the_csrf_token_once_and_its_forms_post_with_it(client):
    agent = make_user("agent", username="shell_agent")
    ticket = services.ticket_create(actor=agent, channel="chat", description="杯子漏水", customer=CustomerFactory())
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(agent)
    html = csrf_client.get(f"/tickets/{ticket.pk}/").content.decode()

    tokens = {value for match in TOKENS.finditer(html) for value in match.groups() if value}
    forms = html.count('name="csrfmiddlewaretoken"')
    assert forms >= 5 and len(tokens) == 1  # the shell's, the header's and every form's: one masking

    response = csrf_client.post(f"/tickets/{ticket.pk}/reply/", {
        "csrfmiddlewaretoken": tokens.pop(), "direction": "note", "body": "记一笔"})
    assert response.status_code == 302
    assert Message.objects.filter(ticket=ticket, body="记一笔").exists()


def test_the_test_client_sees_a_hot_pages_context_with_the_shells(supervisor_client):
    response = supervisor_client.get("/dashboard/")
    assert "figures" in response.context  # the view's
    assert response.context["desk_is_supervisor"] is True  # the shell's context processors'
    assert [template.name for template in response.templates] == ["tickets/dashboard.html"]


def test_the_customers_page_has_the_language_menu_in_the_shells_words(client):
    agent = make_user("agent", username="shell_portal")
    ticket = services.ticket_create(actor=agent, channel="chat", description="杯子漏水", customer=CustomerFactory())
    link, _until = customer_link_issue(ticket=Ticket.objects.get(pk=ticket.pk), actor=agent)
    html = client.get(link, headers={"accept-language": "en"}).content.decode()
    assert 'id="language-switch"' in html and '<option value="en" selected>English</option>' in html
    assert 'action="/i18n/setlang/"' in html and 'name="csrfmiddlewaretoken"' in html


def test_a_hot_page_prints_nothing_of_the_shells_django_parts_even_in_debug(rf):
    """DEBUG's Jinja2 prints an undefined variable as itself ({{ shell_scripts }} at the foot of every hot page,
    seen on make run's ticket page); the shell's parts for Django pages are not defined on a hot page."""
    from django.contrib.auth.models import AnonymousUser
    from django.template import engines
    from jinja2 import DebugUndefined

    env = engines["jinja2"].env.overlay(undefined=DebugUndefined)
    page = env.from_string('{% extends "base.html" %}{% block content %}<p>body</p>{% endblock %}')
    html = page.render({"request": rf.get("/"), "user": AnonymousUser(), "csrf_token": "token"})
    assert "<p>body</p>" in html and "{{" not in html and "shell_" not in html
