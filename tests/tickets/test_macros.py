"""Macros (tickets/expert): a supervisor's canned handling applied by an agent in one click — the reply, the
tags, the status move and the subtask in one transaction, one event naming the macro, nothing written when
any step is refused."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from tests.factories import CustomerFactory, make_user
from tickets import services
from tickets.expert.models import Macro
from tickets.expert.services import macro_apply, macro_delete, macro_save
from tickets.models import Department, Message, Status, Subtask, Ticket, TicketEvent
from tickets.workflow import StaleVersion, TransitionRefused, ticket_transition

pytestmark = pytest.mark.django_db


def in_progress(agent, **fields) -> Ticket:
    ticket = services.ticket_create(actor=agent, channel="chat", description="收到的电饭煲不加热",
                                    customer=CustomerFactory(name="王芳"), type="return_refund",
                                    category="product_quality", owner=agent, **fields)
    for action in ("triage", "start"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=agent)
    return ticket


def a_macro(**fields) -> Macro:
    defaults = {"name": "请寄回检测", "body": "{customer_name}您好，工单{ticket_number}已受理，我是{agent_name}。",
                "action": "wait_customer", "tags": "寄回检测, 质量问题"}
    return Macro.objects.create(**{**defaults, **fields})


def written(ticket: Ticket) -> tuple:
    return (Message.objects.filter(ticket=ticket).count(), TicketEvent.objects.filter(ticket=ticket).count(),
            Subtask.objects.filter(ticket=ticket).count(), sorted(ticket.tags.values_list("name", flat=True)),
            Ticket.objects.get(pk=ticket.pk).status)


def test_applying_a_macro_replies_tags_moves_and_names_itself_once():
    agent = make_user("agent", username="xiaoli")
    ticket = in_progress(agent)
    macro = a_macro()

    ticket = macro_apply(macro=macro, ticket=ticket, actor=agent, expected_version=ticket.version)

    reply = Message.objects.get(ticket=ticket, direction=Message.Direction.OUTBOUND)
    assert reply.body == f"王芳您好，工单{ticket.number}已受理，我是xiaoli。"  # placeholders filled
    assert reply.author == agent
    assert ticket.status == Status.WAITING_CUSTOMER
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["寄回检测", "质量问题"]
    named = TicketEvent.objects.filter(ticket=ticket, action="macro_applied")
    assert [(e.reason, e.actor) for e in named] == [("请寄回检测", agent)]
    assert TicketEvent.objects.filter(ticket=ticket, action="wait_customer").exists()


def test_a_macro_hands_work_to_a_department():
    agent = make_user("agent")
    ticket = in_progress(agent)
    macro = a_macro(action="", body="", tags="", subtask_department=Department.objects.get(code="warehouse"),
                    subtask_kind=Subtask.Kind.INSPECT_RETURN, subtask_description="检查{ticket_number}的退货")

    ticket = macro_apply(macro=macro, ticket=ticket, actor=agent)

    subtask = Subtask.objects.get(ticket=ticket)
    assert subtask.description == f"检查{ticket.number}的退货"
    assert ticket.status == Status.WAITING_DEPARTMENT
    assert TicketEvent.objects.filter(ticket=ticket, action="macro_applied").count() == 1


def test_a_status_move_not_allowed_now_writes_nothing_and_says_why():
    agent = make_user("agent")
    ticket = in_progress(agent)
    ticket = ticket_transition(ticket=ticket, action="wait_customer", actor=agent)
    before = written(ticket)

    with pytest.raises(TransitionRefused):
        macro_apply(macro=a_macro(action="resolve"), ticket=ticket, actor=agent)

    assert written(ticket) == before


def test_a_refused_subtask_rolls_back_the_reply_tags_and_move():
    agent = make_user("agent")
    ticket = in_progress(agent)
    before = written(ticket)
    # Resolved first (allowed), then the subtask is refused on a resolved ticket: all of it is undone.
    macro = a_macro(action="resolve", subtask_department=Department.objects.get(code="warehouse"),
                    subtask_kind=Subtask.Kind.RESHIP, subtask_description="补寄")

    with pytest.raises(TransitionRefused):
        macro_apply(macro=macro, ticket=ticket, actor=agent)

    assert written(ticket) == before


def test_a_stale_page_is_refused_before_anything_is_written():
    agent = make_user("agent")
    ticket = in_progress(agent)
    before = written(ticket)

    with pytest.raises(StaleVersion):
        macro_apply(macro=a_macro(), ticket=ticket, actor=agent, expected_version=ticket.version - 1)

    assert written(ticket) == before


def test_an_agent_may_not_apply_a_macro_on_someone_elses_ticket():
    owner, other = make_user("agent"), make_user("agent")
    ticket = in_progress(owner)

    with pytest.raises(PermissionDenied):
        macro_apply(macro=a_macro(), ticket=ticket, actor=other)


def test_only_supervisors_manage_macros():
    supervisor, agent = make_user("supervisor"), make_user("agent")
    fields = {"name": "退款", "body": "已退款", "action": "", "tags": ""}

    with pytest.raises(PermissionDenied):
        macro_save(actor=agent, **fields)
    macro = macro_save(actor=supervisor, **fields)
    with pytest.raises(PermissionDenied):
        macro_delete(actor=agent, macro=macro)
    macro_delete(actor=supervisor, macro=macro)
    assert not Macro.objects.exists()


# The pages ------------------------------------------------------------------------------------------------


def test_the_ticket_page_applies_a_macro_in_one_click(client):
    agent = make_user("agent")
    ticket = in_progress(agent)
    macro = a_macro()
    client.force_login(agent)

    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert f'id="macro-{macro.pk}"' in page
    response = client.post(reverse("tickets:apply_macro", args=[ticket.pk]),
                           {"macro": macro.pk, "version": ticket.version}, follow=True)

    assert response.status_code == 200
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING_CUSTOMER
    assert "请寄回检测" in response.content.decode()


def test_a_refused_macro_is_shown_to_the_agent_and_nothing_changes(client):
    agent = make_user("agent")
    ticket = ticket_transition(ticket=in_progress(agent), action="wait_customer", actor=agent)
    before = written(ticket)
    client.force_login(agent)

    response = client.post(reverse("tickets:apply_macro", args=[ticket.pk]),
                           {"macro": a_macro(action="resolve").pk, "version": ticket.version}, follow=True)

    assert written(ticket) == before
    assert any(m.level_tag == "error" for m in response.context["messages"])


def test_a_stale_macro_click_shows_the_page_again_with_the_conflict(client):
    agent = make_user("agent")
    ticket = in_progress(agent)
    client.force_login(agent)

    response = client.post(reverse("tickets:apply_macro", args=[ticket.pk]),
                           {"macro": a_macro().pk, "version": ticket.version - 1})

    assert response.status_code == 409
    assert not Message.objects.filter(ticket=ticket).exists()


def test_an_agent_may_not_click_a_macro_on_someone_elses_ticket(client):
    ticket = in_progress(make_user("agent"))
    before = written(ticket)
    client.force_login(make_user("agent"))

    response = client.post(reverse("tickets:apply_macro", args=[ticket.pk]),
                           {"macro": a_macro().pk, "version": ticket.version})

    assert response.status_code == 403
    assert written(ticket) == before


@pytest.mark.parametrize("role", ["department_staff", "admin"])
def test_department_staff_and_the_admin_never_apply_macros(client, role):
    agent = make_user("agent")
    ticket = in_progress(agent)
    before = written(ticket)
    client.force_login(make_user(role, department="warehouse" if role == "department_staff" else None))

    response = client.post(reverse("tickets:apply_macro", args=[ticket.pk]),
                           {"macro": a_macro().pk, "version": ticket.version})

    assert response.status_code in (403, 404)
    assert written(ticket) == before


def test_agents_read_the_macro_list_and_only_supervisors_add_one(client):
    a_macro(name="先道歉")
    client.force_login(make_user("agent"))
    page = client.get(reverse("tickets:macros"))
    assert page.status_code == 200 and "先道歉" in page.content.decode()
    assert 'id="macro-form"' not in page.content.decode()
    assert client.post(reverse("tickets:macros"), {"name": "x", "body": "y"}).status_code == 403

    client.force_login(make_user("supervisor"))
    response = client.post(reverse("tickets:macros"), {"name": "补寄配件", "body": "已为您补寄", "action": "",
                                                       "tags": "补寄, 补寄"})
    assert response.status_code == 302
    assert Macro.objects.get(name="补寄配件").tags == "补寄"


def test_a_half_described_subtask_is_a_form_error(client):
    client.force_login(make_user("supervisor"))
    response = client.post(reverse("tickets:macros"), {"name": "坏的", "subtask_kind": "reship"})

    assert response.status_code == 200
    assert not Macro.objects.filter(name="坏的").exists()
    assert response.context["form"].errors


def test_the_department_reads_the_customers_name_masked_in_a_macros_subtask():
    agent = make_user("agent")
    ticket = in_progress(agent)
    macro = a_macro(action="", tags="", subtask_department=Department.objects.get(code="warehouse"),
                    subtask_kind=Subtask.Kind.RESHIP, subtask_description="给{customer_name}补寄 {ticket_number}")

    macro_apply(macro=macro, ticket=ticket, actor=agent, expected_version=ticket.version)

    assert Subtask.objects.get(ticket=ticket).description == f"给王*补寄 {ticket.number}"
    assert Message.objects.get(ticket=ticket).body.startswith("王芳您好")  # the customer's own reply: in full


def test_two_saves_of_one_view_name_at_once_are_told_not_a_500(monkeypatch):
    from django.core.exceptions import ValidationError

    from tickets.expert import services as expert

    owner = make_user("agent")
    expert.saved_view_create(owner=owner, name="我的加急", query="queue=mine")
    monkeypatch.setattr(expert, "_check_name_free", lambda **kwargs: None)  # both passed the check
    with pytest.raises(ValidationError):
        expert.saved_view_create(owner=owner, name="我的加急", query="queue=mine&priority=P1")
