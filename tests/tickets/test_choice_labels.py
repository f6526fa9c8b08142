"""Choice labels (aftersales/choices.py): Django's get_FOO_display answers, from a dict built once."""

from django.utils import translation

from aftersales.choices import QuickChoiceLabels
from customers.models import Customer
from tickets.models import Subtask, Ticket


def test_labels_follow_the_active_language_and_unknown_values_show_as_they_are():
    ticket = Ticket(status="waiting_customer", priority="P1")

    with translation.override("en"):
        assert ticket.get_status_display() == "Waiting for customer"
    with translation.override("zh-hans"):
        assert ticket.get_status_display() != "Waiting for customer"
        assert ticket.get_status_display() == translation.gettext("Waiting for customer")
    ticket.status = "no_such_status"
    assert ticket.get_status_display() == "no_such_status"
    assert Ticket(status="").get_status_display() == ""


def test_the_models_a_queue_page_shows_use_them():
    for model in (Ticket, Subtask, Customer):
        assert issubclass(model, QuickChoiceLabels)
    assert Customer(platform="jd").get_platform_display() == "JD"
