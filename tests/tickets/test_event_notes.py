"""The desk's own notes on the timeline are kept as msgid + parameters (tickets/notes.py), so each reader
sees them in their own language whatever language the writer had; what a person typed stays as typed."""

import re
from pathlib import Path

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from tests.factories import make_user
from tests.tickets.test_workflow import new_ticket
from tickets import services
from tickets.models import TicketEvent
from tickets.notes import Note, note, note_render
from tickets.sla.sweep import _reason

ROOT = Path(__file__).resolve().parents[2]
HAN = re.compile(r"[\u4e00-\u9fff]")
# note("…" "…", …): a msgid may be written as adjacent literals over several lines (joined as Python does).
NOTE_CALL = re.compile(r'\bnote\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)')
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
NOOP_CALL = re.compile(r'\bgettext_noop\(\s*"((?:[^"\\]|\\.)*)"')


def _read(event: TicketEvent, language: str) -> str:
    with translation.override(language):
        return event.reason_text


@pytest.mark.django_db
def test_a_note_written_in_chinese_reads_in_english_for_an_english_reader():
    agent = make_user("agent")
    with translation.override("zh-hans"):
        ticket = new_ticket(agent)
    event = ticket.events.get(action="sla_started")

    assert event.note == [["SLA clocks started at intake.", {}]] and event.reason == ""
    assert _read(event, "en") == "SLA clocks started at intake."
    assert HAN.search(_read(event, "zh-hans"))


@pytest.mark.django_db
def test_the_api_gives_the_note_in_the_language_of_the_request():
    agent = make_user("agent")
    ticket = new_ticket(agent)
    client = APIClient()
    client.force_authenticate(agent)

    english = client.get(f"/api/v1/tickets/{ticket.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = client.get(f"/api/v1/tickets/{ticket.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()

    def started(body):
        return next(event["reason"] for event in body["timeline"] if event["action"] == "sla_started")

    assert started(english) == "SLA clocks started at intake."
    assert HAN.search(started(chinese))


@pytest.mark.django_db
def test_what_a_person_typed_is_kept_as_typed_in_every_language():
    agent = make_user("agent")
    ticket = new_ticket(agent)

    services.ticket_override_priority(ticket=ticket, actor=agent, priority="P1", reason="客户说明天出国")
    event = ticket.events.get(action="priority_overridden")

    assert event.note == [] and event.reason == "客户说明天出国"
    assert _read(event, "en") == _read(event, "zh-hans") == "客户说明天出国"


def test_parameters_and_nested_labels_are_translated_when_read():
    breached = _reason("resolution", 100, ("仓库",))

    assert isinstance(breached, Note)
    assert breached.parts[0] == ["The %(clock)s target was breached.", {"clock": [["resolution", {}]]}]
    with translation.override("en"):
        assert note_render(breached.parts) == (
            "The resolution target was breached. Departments holding the case: 仓库."
        )
    with translation.override("zh-hans"):
        chinese = note_render(breached.parts)
    assert "resolution" not in chinese and HAN.search(chinese) and "仓库" in chinese


def test_a_note_whose_text_changed_since_still_reads_in_english():
    assert note_render([["A sentence the desk no longer writes: %(n)d.", {"n": 3}]]) == (
        "A sentence the desk no longer writes: 3."
    )
    assert note_render([["Handed to %(department)s.", {}]]) == "Handed to %(department)s."  # no crash
    assert str(note("Handed to %(department)s.", department="仓库")) == "Handed to 仓库."


def _product_msgids() -> set[str]:
    found = set()
    for path in (ROOT / "tickets").rglob("*.py"):
        if "migrations" in path.parts or path.name in ("notes.py", "makemessages.py"):  # they only explain
            continue
        text = path.read_text(encoding="utf-8")
        found |= {"".join(LITERAL.findall(literals)) for literals in NOTE_CALL.findall(text)}
        if "note(" in text:  # msgids kept in constants for notes
            found |= set(NOOP_CALL.findall(text))
    return found


def test_every_note_the_desk_writes_has_a_chinese_translation():
    msgids = _product_msgids()
    assert len(msgids) >= 20, sorted(msgids)  # the scan finds them (a broken pattern would find none)
    with translation.override("zh-hans"):
        missing = [msgid for msgid in sorted(msgids) if not HAN.search(translation.gettext(msgid))]
    assert not missing, f"notes without a zh-Hans translation: {missing}"
