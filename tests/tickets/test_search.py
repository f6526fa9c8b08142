"""`Ticket.search_text` (tickets/search.py): the customer's words cut by jieba, written wherever those words
are written (intake, classification, the API's PATCH) and filled for existing tickets by migration 0018."""


import pytest

from tests.factories import CustomerFactory
from tickets import services
from tickets.models import Ticket
from tickets.search import ticket_search_text

pytestmark = pytest.mark.django_db


def _create(actor, **fields) -> Ticket:
    defaults = {"channel": "chat", "customer": CustomerFactory(), "description": "洗衣机底部漏水，地板都湿了"}
    return services.ticket_create(actor=actor, **{**defaults, **fields})


def test_search_text_holds_the_cut_words_of_the_customers_text_and_facts():
    ticket = Ticket(description="洗衣机底部漏水，地板都湿了", customer_request="退货退款", symptom="起球严重",
                    product_model="XQB-80")

    words = ticket_search_text(ticket).split()

    assert {"洗衣机", "底部", "漏水", "地板", "退货退款", "起球", "xqb", "80"} <= set(words)
    assert "，" not in words  # punctuation is not a word


def test_ticket_create_writes_search_text(agent):
    ticket = _create(agent, customer_request="退货退款", product_model="T-100")

    stored = Ticket.objects.get(pk=ticket.pk).search_text
    assert stored == ticket_search_text(ticket)
    assert {"漏水", "退货退款"} <= set(stored.split())


def test_classify_rewrites_search_text_when_the_words_change(agent):
    ticket = _create(agent)

    services.ticket_classify(ticket=ticket, actor=agent, description="裤子尺码偏小", symptom="起球严重")

    words = Ticket.objects.get(pk=ticket.pk).search_text.split()
    assert {"尺码", "起球"} <= set(words)
    assert "漏水" not in words


def test_classify_leaves_search_text_alone_when_no_words_change(agent):
    ticket = _create(agent)
    Ticket.objects.filter(pk=ticket.pk).update(search_text="marker")

    services.ticket_classify(ticket=ticket, actor=agent, category="product_quality")

    assert Ticket.objects.get(pk=ticket.pk).search_text == "marker"


def test_api_patch_of_the_description_rewrites_search_text(agent):
    from rest_framework.test import APIClient

    ticket = _create(agent)
    client = APIClient()
    client.force_authenticate(user=agent)

    response = client.patch(f"/api/v1/tickets/{ticket.pk}/", {"description": "电饭煲不加热"}, format="json")

    assert response.status_code == 200, response.content
    assert "search_text" not in response.json()  # internal: not part of the API
    words = Ticket.objects.get(pk=ticket.pk).search_text.split()
    assert "加热" in words and "漏水" not in words
