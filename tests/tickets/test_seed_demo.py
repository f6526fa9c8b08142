import io
import re

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from customers.models import Customer
from orders.models import Order, OrderItem, Product
from tickets.models import Category, Channel, Message, SLAState, Status, Subtask, Ticket, TicketEvent, TicketType

DEMO_USERNAMES = (
    "agent", "agent2", "senior", "supervisor", "warehouse", "finance", "logistics", "tech", "admin",
)


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict:
    models = (get_user_model(), Customer, Product, Order, OrderItem, Ticket, Message, TicketEvent, Subtask)
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.django_db
def test_seeding_twice_gives_the_same_rows_covering_every_status_and_type():
    first_output = seed("--allow-production")
    first = row_counts()
    agent = get_user_model().objects.get(username="agent")
    agent.set_password("someone-changed-it-123")
    agent.save()
    second_output = seed("--allow-production")

    assert row_counts() == first
    assert re.search(r"\b0 demo tickets created", second_output)
    assert not re.search(r"\b0 demo tickets created", first_output)
    # Re-running puts the demo password back.
    assert authenticate(username="agent", password="agent-demo-2026") is not None
    assert not Ticket.objects.exclude(events__action="created").exists()
    assert TicketEvent.objects.filter(action="created").count() == first["Ticket"]
    assert first["User"] == 9
    assert first["Customer"] >= 15
    assert first["Product"] >= 12
    assert first["Order"] >= 30
    assert first["OrderItem"] > first["Order"]
    assert first["Ticket"] >= 40
    assert first["Message"] > first["Ticket"]
    assert first["Subtask"] >= 10
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Status.values)
    assert set(TicketType.values) <= set(Ticket.objects.values_list("type", flat=True))
    assert Ticket.objects.filter(tags__name="双十一", category=Category.WRONG_OR_MISSING_ITEM).count() == 1


@pytest.mark.django_db
def test_demo_covers_the_cases_the_desk_is_built_for():
    seed("--allow-production")

    promo = Ticket.objects.get(tags__name="双十一")
    assert promo.type in (TicketType.RETURN_REFUND, TicketType.EXCHANGE)
    assert promo.affected_items.get().product.name.endswith("M码")
    exposure = Ticket.objects.get(threatens_exposure=True)
    assert (exposure.type, exposure.risk_level) == (TicketType.COMPLAINT, "high")
    assert exposure.assignee.username == "senior"
    assert Ticket.objects.filter(channel=Channel.PLATFORM_DISPUTE).exists()
    risk_reasons = Ticket.objects.values_list("risk_reasons", flat=True)
    assert any(reason.startswith("repeat_contact:") for reasons in risk_reasons for reason in reasons)
    assert Ticket.objects.filter(customer__tier=Customer.Tier.VIP).exists()
    assert Ticket.objects.filter(channel=Channel.OTHER).exists()
    # Open subtasks on waiting tickets, finished ones, and the warehouse's rejection.
    assert Subtask.objects.filter(ticket__status=Status.WAITING_DEPARTMENT, status="open").exists()
    assert Subtask.objects.filter(status="done").exists()
    rejected = Subtask.objects.get(status="rejected")
    assert rejected.department.code == "warehouse" and rejected.result
    assert TicketEvent.objects.filter(action="reassigned", actor__username="supervisor").exists()
    # Resolved -> reopened with a reason -> back in progress.
    reopen = TicketEvent.objects.get(action="reopen")
    assert reopen.reason_text and reopen.to_status == Status.IN_PROGRESS
    assert not Ticket.objects.filter(status=Status.ARCHIVED, summary="").exists()
    for order in Order.objects.prefetch_related("items"):
        assert 1 <= len(order.items.all()) <= 4
        assert order.paid_amount == sum(item.paid_amount for item in order.items.all())
        assert all(item.paid_amount <= item.unit_price * item.quantity for item in order.items.all())


@pytest.mark.django_db
def test_in_debug_prints_every_demo_user_with_a_password_that_works(settings):
    settings.DEBUG = True

    output = seed()

    for username in DEMO_USERNAMES:
        assert username in output
        assert f"{username}-demo-2026" in output
    assert re.search(r"Counts: .*tickets \d+", output)
    assert authenticate(username="agent", password="agent-demo-2026") is not None
    User = get_user_model()
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser and admin.groups.filter(name="admin").exists()
    assert not User.objects.filter(is_staff=True).exclude(username="admin").exists()
    warehouse = User.objects.get(username="warehouse")
    assert warehouse.staff_profile.department.code == "warehouse"
    assert User.objects.get(username="senior").staff_profile.refund_limit == 1000


@pytest.mark.django_db
def test_refuses_to_run_with_debug_off_unless_allowed(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="--allow-production"):
        seed()

    assert not get_user_model().objects.exists()
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_the_demo_opens_with_todays_sla_states():
    """The demo's tickets are built with their clocks in the past: the first page must not show a ticket
    whose due time passed days ago as on track ("0 minutes" in green) until the beat's first sweep."""
    seed("--allow-production")
    now = timezone.now()
    running = Ticket.objects.open().exclude(sla_state__in=[SLAState.PAUSED, SLAState.NONE])
    stale = [
        (ticket.number, ticket.sla_state) for ticket in running
        if ticket.sla_state != SLAState.BREACHED and any(
            due is not None and due <= now
            for due in (ticket.first_response_due_at, ticket.next_response_due_at, ticket.resolution_due_at))
    ]
    assert not stale
    assert running.filter(sla_state=SLAState.BREACHED).exists()
