"""Departments see how urgent a case is: the subtask's default due time is the department's target scaled
by the ticket's priority and counted in the department's working hours; the inbox and the subtask page
show the case's priority and SLA; automatic subtasks carry the agent's instructions; couriers' claims have
their own kind."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.playbook.test_playbook import order, people, working_ticket  # noqa: F401  (fixtures)
from tickets.models import Department, Priority, Subtask
from tickets.playbook import services as playbook
from tickets.sla.models import BusinessCalendar, WorkingInterval
from tickets.subtasks import subtask_create

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _hand_over(ticket, agent, department):
    return subtask_create(ticket=ticket, actor=agent, department=department, kind=Subtask.Kind.RESHIP,
                          description="补寄M码")


@pytest.mark.parametrize(("priority", "hours"), [("P1", 6), ("P2", 12), ("P3", 24), ("P4", 24)])
def test_the_default_due_time_shrinks_with_the_case_priority(order, people, priority, hours):  # noqa: F811
    ticket = working_ticket(order, people["agent"])
    ticket.priority = priority
    ticket.save(update_fields=["priority"])
    warehouse = Department.objects.get(code="warehouse")
    start = datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)

    with time_machine.travel(start, tick=False):
        subtask = _hand_over(ticket, people["agent"], warehouse)

    assert (subtask.due_at - start).total_seconds() == hours * 3600


def test_the_due_time_counts_only_the_department_working_hours(order, people):  # noqa: F811
    calendar = BusinessCalendar.objects.create(name="仓库 9-18 工作日")
    WorkingInterval.objects.bulk_create(WorkingInterval(calendar=calendar, weekday=d, start=time(9), end=time(18))
                                        for d in range(5))
    warehouse = Department.objects.get(code="warehouse")
    warehouse.calendar, warehouse.subtask_target_hours = calendar, 24
    warehouse.save()
    ticket = working_ticket(order, people["agent"])
    ticket.priority = Priority.P1  # a quarter of 24 h: 6 working hours
    ticket.save(update_fields=["priority"])

    with time_machine.travel(datetime(2026, 12, 11, 16, 0, tzinfo=SHANGHAI), tick=False):  # a Friday, 16:00
        subtask = _hand_over(ticket, people["agent"], warehouse)

    # 2 hours on Friday, then Monday 9:00 + 4 hours.
    assert subtask.due_at.astimezone(SHANGHAI) == datetime(2026, 12, 14, 13, 0, tzinfo=SHANGHAI)


def test_the_inbox_and_the_subtask_page_show_the_case_priority_and_sla(client, order, people):  # noqa: F811
    ticket = working_ticket(order, people["agent"])
    ticket.priority = Priority.P1
    ticket.save(update_fields=["priority"])
    subtask = _hand_over(ticket, people["agent"], Department.objects.get(code="warehouse"))
    client.force_login(people["warehouse"])

    inbox = client.get("/inbox/").content.decode()
    page = client.get(f"/subtasks/{subtask.pk}/").content.decode()

    assert 'class="prio-P1"' in inbox and str(ticket.get_sla_state_display()) in inbox
    assert 'id="subtask-priority"' in page and "P1" in page


def test_automatic_subtasks_carry_the_agent_instructions(order, people):  # noqa: F811
    ticket = working_ticket(order, people["agent"])
    solution = playbook.solution_propose(ticket=ticket, actor=people["agent"], kind="reship", return_required=False,
                                         note="38码，优先")

    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="phone", text="同意补寄")

    reship = Subtask.objects.get(ticket=ticket, kind=Subtask.Kind.RESHIP)
    assert "38码，优先" in reship.description


def test_a_courier_claim_is_a_kind_of_its_own(client, order, people):  # noqa: F811
    ticket = working_ticket(order, people["agent"])
    client.force_login(people["agent"])
    assert '<option value="courier_claim">' in client.get(f"/tickets/{ticket.pk}/forms/subtask/").content.decode()

    client.post(f"/tickets/{ticket.pk}/subtasks/", {
        "department": Department.objects.get(code="logistics").pk, "kind": "courier_claim",
        "description": "包裹破损，向顺丰申请理赔 ¥199"})

    claim = Subtask.objects.get(ticket=ticket)
    assert (claim.kind, claim.department.code) == (Subtask.Kind.COURIER_CLAIM, "logistics")
