"""The timeline's one vocabulary (tickets.events): every action labelled in both languages, written
through one module, nothing else accepted."""

import re
from pathlib import Path

import pytest
from django.utils import translation

from tests.factories import make_user
from tests.tickets.test_workflow import new_ticket
from tickets.events import EventAction, event_label, event_record
from tickets.models import TicketEvent
from tickets.workflow import ACTION_LABELS, Action

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("aftersales", "customers", "orders", "tickets")
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("action", list(EventAction), ids=lambda action: action.value)
def test_every_action_has_a_label_in_english_and_in_chinese(action):
    with translation.override("en"):
        english = event_label(action.value)
    with translation.override("zh-hans"):
        chinese = event_label(action.value)

    assert english and english != action.value, f"{action.value} has no English label"
    assert HAN.search(chinese), f"{action.value} ({english}) has no zh-Hans translation: {chinese!r}"


def test_every_lifecycle_move_is_in_the_vocabulary_with_its_button_name():
    moves = [value for name, value in vars(Action).items() if name.isupper()]

    assert set(moves) <= set(EventAction.values)
    assert {move: str(ACTION_LABELS[move]) for move in moves} == {move: EventAction(move).label for move in moves}


def test_events_are_written_only_through_tickets_events():
    writes = re.compile(r"(?<!class )TicketEvent\(|TicketEvent\.objects\.(bulk_create|create|get_or_create)\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and path != ROOT / "tickets" / "events.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if writes.search(line)
    ]

    assert not offenders, "write events with tickets.events.event_record / event_build: " + ", ".join(offenders)


@pytest.mark.django_db
def test_an_action_outside_the_vocabulary_is_refused_and_nothing_is_written():
    ticket = new_ticket(make_user("agent"))
    before = TicketEvent.objects.count()

    with pytest.raises(ValueError):
        event_record(ticket=ticket, actor=None, action="solution_teleported")

    assert TicketEvent.objects.count() == before


@pytest.mark.django_db
def test_the_timeline_reads_in_the_viewers_language():
    ticket = new_ticket(make_user("agent"))
    event_record(ticket=ticket, actor=None, action=EventAction.SOLUTION_PROPOSED)
    event = ticket.events.get(action="solution_proposed")

    with translation.override("zh-hans"):
        assert event_label(event.action) == "已提出解决方案"
    with translation.override("en"):
        assert event_label(event.action) == "Solution proposed"
