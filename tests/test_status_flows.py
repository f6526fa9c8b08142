"""Status tables (aftersales.states.StatusFlow): every model with a status moves only through its table."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction

from aftersales.states import StatusFlow
from orders.models import Refund
from tests.factories import OrderFactory, make_user

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("aftersales", "customers", "orders", "tickets")
# The ticket and the subtask have their own tables with actions and timeline (tickets.workflow,
# tickets.subtasks); a price-difference row's status is the result of its check, written in bulk.
OWN_TABLES = {"aftersales/states.py", "tickets/workflow.py", "tickets/subtasks.py"}
# An assignment whose targets include `x.status` (`a.status = …`, `a.status, a.at = …`), or update(status=…).
STATUS_WRITE = re.compile(r"^\s*[\w.,\s]*\.status\b[\w.,\s]*=[^=]|\.update\(\s*status\s*=")
ROW_RESULT = re.compile(r"\b(row|self)\.status\b")


def flowing_models():
    return [model for model in apps.get_models() if isinstance(getattr(model, "status_flow", None), StatusFlow)]


def test_no_status_is_written_outside_the_tables():
    offenders = []
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            if "migrations" in path.parts or name in OWN_TABLES:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                row_result = name.startswith("tickets/pricediff/") and ROW_RESULT.search(line)
                if STATUS_WRITE.search(line) and not row_result:
                    offenders.append(f"{name}:{number}: {line.strip()}")
            text = path.read_text(encoding="utf-8")
            over_lines = re.findall(r"\.update\(\s*\n\s*status=", text)
            offenders += [f"{name}: .update(status=…) over lines"] * len(over_lines)

    assert not offenders, "change a status with Model.status_flow.move / move_all:\n" + "\n".join(offenders)


def test_every_model_with_a_lifecycle_declares_its_table_in_its_own_choices():
    names = {model.__name__ for model in flowing_models()}
    assert {"Refund", "Solution", "ApprovalRequest", "Incident", "KnowledgeArticle", "PriceDiffBatch"} <= names
    for model in flowing_models():
        choices = set(dict(model._meta.get_field("status").flatchoices))
        for target, sources in model.status_flow.moves.items():
            assert {target, *sources} <= choices, model.__name__


@pytest.mark.django_db
def test_a_move_the_table_does_not_allow_is_refused_and_saves_nothing():
    refund = Refund.objects.create(order=OrderFactory(), amount="10.00", requested_by=make_user("agent"),
                                   status=Refund.Status.PAID)

    with transaction.atomic(), pytest.raises(ValidationError) as refused:
        Refund.status_flow.move(Refund.objects.select_for_update().get(pk=refund.pk), Refund.Status.APPROVED)

    assert "status" in refused.value.message_dict
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.PAID


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_move_outside_a_transaction_is_a_programming_error():
    refund = Refund.objects.create(order=OrderFactory(), amount="10.00", requested_by=make_user("agent"))

    with pytest.raises(RuntimeError):
        Refund.status_flow.move(refund, Refund.Status.APPROVED)
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.REQUESTED


@pytest.mark.django_db
def test_move_all_moves_only_the_rows_the_table_allows():
    order, agent = OrderFactory(), make_user("agent")
    requested = Refund.objects.create(order=order, amount="1.00", requested_by=agent)
    paid = Refund.objects.create(order=order, amount="2.00", requested_by=agent, status=Refund.Status.PAID)

    moved = Refund.status_flow.move_all(Refund.objects.filter(order=order), Refund.Status.FAILED)

    assert moved == 1
    assert Refund.objects.get(pk=requested.pk).status == Refund.Status.FAILED
    assert Refund.objects.get(pk=paid.pk).status == Refund.Status.PAID
