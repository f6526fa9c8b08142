"""The customer's signed link: what it shows, what it lets the customer do, and what it refuses."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, make_user
from tests.tickets.test_uploads import PNG
from tickets import services
from tickets.followup.models import SatisfactionSurvey
from tickets.models import Attachment, Channel, Message, Solution, Status, Ticket
from tickets.playbook import services as playbook
from tickets.portal.links import LinkExpired, LinkInvalid, customer_link_issue, ticket_for_link
from tickets.workflow import ticket_transition

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()  # rate-limit counters live in the cache (Redis in CI)
    yield
    cache.clear()


@pytest.fixture
def agent(db):
    return make_user("agent", username="cl_agent")


@pytest.fixture
def ticket(agent):
    customer = CustomerFactory(name="王小明", phone="13812345678", address="浙江省杭州市西湖区文三路100号")
    order = OrderFactory(customer=customer, paid_amount=Decimal("300"), external_number="TB000011112222")
    OrderItemFactory(order=order, unit_price=Decimal("300"), paid_amount=Decimal("300"))
    ticket = services.ticket_create(actor=agent, channel="chat", description="羽绒服尺码偏小", order=order,
                                    affected_items=list(order.items.all()), type="exchange",
                                    category="wrong_or_missing_item")
    ticket = services.ticket_classify(ticket=ticket, actor=agent, responsibility="merchant")
    for action in ("triage", "start"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=agent)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    services.message_add(ticket=ticket, actor=agent, direction="outbound", body="您好，我们为您换大一码")
    services.message_add(ticket=ticket, actor=agent, direction="note", body="内部：仓库L码库存只剩3件")
    ticket.refresh_from_db()
    return ticket


def link(ticket, agent, **kw) -> str:
    path, _ = customer_link_issue(ticket=ticket, actor=agent, **kw)
    return path


def png() -> io.BytesIO:
    buffer = io.BytesIO(PNG)
    buffer.name = "photo.png"
    return buffer


# Signing -------------------------------------------------------------------------------------------


def test_a_link_opens_its_own_ticket(ticket, agent):
    token = link(ticket, agent).strip("/").split("/")[-1]
    assert ticket_for_link(token) == ticket


def test_a_tampered_link_is_refused(ticket, agent):
    token = link(ticket, agent).strip("/").split("/")[-1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(LinkInvalid):
        ticket_for_link(forged)


def test_a_link_for_another_ticket_id_cannot_be_forged_without_the_secret(ticket, agent):
    from django.core import signing

    forged = signing.dumps({"t": ticket.pk, "k": "guessed"}, salt="tickets.portal.customer-link", key="not-our-key")
    with pytest.raises(LinkInvalid):
        ticket_for_link(forged)


def test_a_link_expires(ticket, agent, settings):
    token = link(ticket, agent).strip("/").split("/")[-1]
    with time_machine.travel(timezone.now() + timedelta(days=settings.CUSTOMER_LINK_DAYS, minutes=1)):
        with pytest.raises(LinkExpired):
            ticket_for_link(token)


def test_renewing_revokes_the_links_given_out_before(ticket, agent):
    old = link(ticket, agent)
    new = link(ticket, agent, renew=True)
    client = Client()
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert ticket.events.filter(action="customer_link_renewed").exists()


# The page ----------------------------------------------------------------------------------------------


def test_the_page_shows_progress_masked_and_without_internal_notes(ticket, agent):
    response = Client().get(link(ticket, agent))
    assert response.status_code == 200
    html = response.content.decode()
    assert ticket.number in html
    assert "We are working on your case." in html
    assert "138****5678" in html and "13812345678" not in html
    assert "王*" in html and "王小明" not in html
    assert "您好，我们为您换大一码" in html
    assert "仓库L码库存" not in html  # internal note
    assert "cl_agent" not in html  # staff names stay inside
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("bad", ["nonsense", "eyJ0IjoxfQ:1tXYZ:abc"])
def test_a_bad_link_shows_a_clear_page_and_reveals_nothing(ticket, bad):
    response = Client().get(f"/c/{bad}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This link is not valid" in html
    assert ticket.number not in html and "羽绒服" not in html


def test_an_expired_link_says_so(ticket, agent, settings):
    path = link(ticket, agent)
    with time_machine.travel(timezone.now() + timedelta(days=settings.CUSTOMER_LINK_DAYS + 1)):
        response = Client().get(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode() and ticket.number not in response.content.decode()


def test_the_page_is_rate_limited_per_address(ticket, agent, settings):
    settings.CUSTOMER_LINK_RATE = "3/m"
    path = link(ticket, agent)
    client = Client()
    # The clock stands still: django-ratelimit's minute starts at a second of its own, and a run that crossed
    # it counted the fourth request in a new minute (seen once in CI: 200, 200, 200, 200).
    with time_machine.travel(timezone.now(), tick=False):
        codes = [client.get(path).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert client.get("/c/nonsense/").status_code == 429  # guessing links counts too


def test_posts_need_the_csrf_token(ticket, agent):
    client = Client(enforce_csrf_checks=True)
    path = link(ticket, agent)
    response = client.post(path + "evidence/", {"text": "补充照片"})
    assert response.status_code == 403
    assert not ticket.messages.filter(direction=Message.Direction.INBOUND).exists()


# What the customer does ---------------------------------------------------------------------------------


def test_choosing_a_solution_records_the_customers_written_agreement(ticket, agent):
    exchange = playbook.solution_propose(ticket=ticket, actor=agent, kind="exchange", expected_days=3,
                                         note="换L码，运费我们承担")
    other = playbook.solution_propose(ticket=ticket, actor=agent, kind="compensation", amount=Decimal("20"))
    path = link(ticket, agent)
    page = Client().get(path).content.decode()
    assert "I agree to this solution" in page and "换L码，运费我们承担" in page

    response = Client().post(path + "confirm/", {"solution": exchange.pk}, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302
    exchange.refresh_from_db()
    other.refresh_from_db()
    assert exchange.status == Solution.Status.CONFIRMED
    assert exchange.confirmed_channel == Channel.CUSTOMER_LINK
    assert "203.0.113.7" in exchange.confirmed_text and "换L码，运费我们承担" in exchange.confirmed_text
    assert other.status == Solution.Status.WITHDRAWN
    confirmed = ticket.events.get(action="solution_confirmed")
    assert (confirmed.actor, exchange.recorded_by) == (None, None)  # the customer's own act, not the agent's
    assert ticket.subtasks.filter(kind="inspect_return").exists()  # the exchange is set in motion: item back first


def test_a_solution_of_another_ticket_cannot_be_chosen_through_this_link(ticket, agent):
    other_ticket = services.ticket_create(actor=agent, channel="chat", description="鞋子开胶",
                                          customer=CustomerFactory())
    foreign = playbook.solution_propose(ticket=other_ticket, actor=agent, kind="compensation", amount=Decimal("20"))
    assert foreign.status == Solution.Status.PROPOSED

    response = Client().post(link(ticket, agent) + "confirm/", {"solution": foreign.pk}, follow=True)

    assert response.status_code == 200
    assert "This solution can no longer be chosen. Please reload the page." in response.content.decode()
    foreign.refresh_from_db()
    assert foreign.status == Solution.Status.PROPOSED and foreign.confirmed_channel == ""
    assert not other_ticket.events.filter(action="solution_confirmed").exists()
    assert not ticket.events.filter(action="solution_confirmed").exists()


def test_a_solution_withdrawn_by_an_earlier_choice_cannot_be_chosen(ticket, agent):
    chosen = playbook.solution_propose(ticket=ticket, actor=agent, kind="explanation", note="说明尺码表")
    withdrawn = playbook.solution_propose(ticket=ticket, actor=agent, kind="explanation", note="另一种说明")
    path = link(ticket, agent)
    assert Client().post(path + "confirm/", {"solution": chosen.pk}).status_code == 302
    withdrawn.refresh_from_db()
    assert withdrawn.status == Solution.Status.WITHDRAWN

    response = Client().post(path + "confirm/", {"solution": withdrawn.pk}, follow=True)

    assert "This solution can no longer be chosen. Please reload the page." in response.content.decode()
    withdrawn.refresh_from_db()
    assert withdrawn.status == Solution.Status.WITHDRAWN
    assert ticket.events.filter(action="solution_confirmed").count() == 1


def test_a_malformed_solution_id_is_refused(ticket, agent):
    playbook.solution_propose(ticket=ticket, actor=agent, kind="explanation")

    response = Client().post(link(ticket, agent) + "confirm/", {"solution": "not-a-number"}, follow=True)

    assert "This solution can no longer be chosen. Please reload the page." in response.content.decode()
    assert not Solution.objects.filter(status=Solution.Status.CONFIRMED).exists()


def test_the_customer_sends_a_photo_with_a_message(ticket, agent):
    path = link(ticket, agent)
    response = Client().post(path + "evidence/", {"text": "吊牌照片", "file": png()})
    assert response.status_code == 302
    message = ticket.messages.get(direction=Message.Direction.INBOUND)
    assert message.channel == Channel.CUSTOMER_LINK and message.body == "吊牌照片"
    assert message.attachments.get().content_type == "image/png"


def test_a_disguised_file_is_refused_and_nothing_is_stored(ticket, agent):
    fake = io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200)
    fake.name = "photo.jpg"
    path = link(ticket, agent)
    response = Client().post(path + "evidence/", {"text": "看图", "file": fake}, follow=True)
    assert response.status_code == 200
    assert not Attachment.objects.exists()
    assert not ticket.messages.filter(direction=Message.Direction.INBOUND).exists()


def test_an_empty_evidence_post_is_a_form_error(ticket, agent):
    response = Client().post(link(ticket, agent) + "evidence/", {"text": ""}, follow=True)
    assert "Write a message or choose a file." in response.content.decode()
    assert not ticket.messages.filter(direction=Message.Direction.INBOUND).exists()


def test_the_survey_appears_after_resolution_and_closes_the_case(ticket, agent):
    path = link(ticket, agent)
    assert 'id="survey"' not in Client().get(path).content.decode()
    ticket_transition(ticket=ticket, action="resolve", actor=agent)
    assert 'id="survey"' in Client().get(path).content.decode()

    response = Client().post(path + "survey/", {"solved": "yes", "score": "5", "comment": "很好"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.close_outcome == "rated"
    page = Client().get(path).content.decode()
    assert 'id="survey"' not in page and "Thank you for your feedback." in page


def test_not_solved_without_saying_why_is_a_form_error(ticket, agent):
    ticket_transition(ticket=ticket, action="resolve", actor=agent)
    response = Client().post(link(ticket, agent) + "survey/", {"solved": "no", "score": ""})
    assert response.status_code == 400
    assert "Please tell us what is still wrong." in response.content.decode()
    assert not SatisfactionSurvey.objects.exists()


def test_a_survey_before_resolution_is_refused(ticket, agent):
    response = Client().post(link(ticket, agent) + "survey/", {"solved": "yes", "score": "5"}, follow=True)
    assert "Follow-up starts once the case is resolved." in response.content.decode()
    assert not SatisfactionSurvey.objects.exists()


def test_the_page_speaks_chinese(ticket, agent):
    response = Client().get(link(ticket, agent), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()
