"""Property tests: over random orders (lines, quantities, discounts), random earlier refunds, random
price drops run as bulk batches and random requesters, the desk never pays more than was paid, never
pays above a limit without someone else's approval, and pays nothing new when anything is run again.

The invariants are checked against the database after every example, whatever the operations did
(a refused operation is fine; a row that breaks an invariant is the bug).
"""

import itertools
from decimal import ROUND_DOWN, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from orders import money
from orders.models import OrderItem, Refund
from orders.services import refund_mark_failed, refund_request
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tests.playbook.test_pricediff import csv_bytes
from tests.threads import run_together
from tickets.pricediff import services as pricediff
from tickets.pricediff.models import PriceDiffBatch

CENT = Decimal("0.01")
COUNTING = money.COUNTING

line_st = st.tuples(
    st.integers(min_value=1, max_value=5),  # quantity
    st.integers(min_value=1, max_value=60_000),  # list unit price, cents
    # Discount on the line, percent (coupons, subsidies). At least 1%: SQLite checks the constraint
    # paid <= unit price × quantity in floating point, where 0.29 × 3 < 0.87 (PostgreSQL is exact).
    st.integers(min_value=1, max_value=60),
)
refund_st = st.tuples(
    st.just("refund"),
    st.integers(min_value=0, max_value=15),  # which lines (bit mask; 0 = the whole order)
    st.integers(min_value=1, max_value=200_000),  # amount, cents
    st.sampled_from(["agent", "supervisor", "unlimited"]),
)
fail_st = st.tuples(st.just("fail"), st.integers(min_value=0, max_value=10))
drop_st = st.tuples(
    st.just("drop"),
    st.lists(st.tuples(st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=110)),
             min_size=1, max_size=4),  # (line, new price as percent of the list price)
    st.sampled_from(["supervisor", "unlimited"]),
)
ops_st = st.lists(st.one_of(refund_st, fail_st, drop_st), min_size=1, max_size=8)


def _cents(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(CENT)


def build_order(lines):
    order = OrderFactory(customer=CustomerFactory(), paid_amount=Decimal("0"))
    items = []
    for quantity, list_cents, discount in lines:
        unit = _cents(list_cents)
        paid = (unit * quantity * (100 - discount) / 100).quantize(CENT, rounding=ROUND_DOWN)
        items.append(OrderItemFactory(order=order, product=ProductFactory(), quantity=quantity, unit_price=unit,
                                      paid_amount=paid))
    order.paid_amount = sum((item.paid_amount for item in items), Decimal("0"))
    order.save(update_fields=["paid_amount"])
    return order, items


def assert_money_invariants(order):
    items = list(OrderItem.objects.filter(order=order))
    counting = Refund.objects.filter(order=order, status__in=COUNTING)
    total = counting.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    assert total <= sum((item.paid_amount for item in items), Decimal("0")), "the order paid out more than it took"
    # Per line: the refunds can be attributed to lines so that no line gives back more than it took.
    # By Hall's theorem that holds exactly when, for every set of lines, the refunds naming only lines of
    # that set (a refund naming none is the whole order's) add up to no more than those lines took.
    named = [(refund.amount, frozenset(item.pk for item in refund.items.all()) or frozenset(i.pk for i in items))
             for refund in counting.prefetch_related("items")]
    for size in range(1, len(items) + 1):
        for subset in itertools.combinations(items, size):
            ids = frozenset(item.pk for item in subset)
            within = sum((amount for amount, lines in named if lines <= ids), Decimal("0"))
            assert within <= sum((item.paid_amount for item in subset), Decimal("0")), f"lines {sorted(ids)}"
    for item in items:
        drops = counting.filter(items=item, kind=Refund.Kind.PRICE_DIFFERENCE)
        if drops:
            lowest = min(Decimal(key.rsplit(":", 1)[1]) for key in drops.values_list("dedupe_key", flat=True))
            protected = drops.aggregate(total=Sum("amount"))["total"]
            # Never more than (paid unit price − the lowest new price) × quantity: list prices never count.
            assert protected <= item.paid_amount - lowest * item.quantity
    for refund in Refund.objects.filter(order=order, status__in=(Refund.Status.APPROVED, Refund.Status.PAID)):
        if refund.amount > money.refund_limit_of(refund.requested_by):
            assert refund.approved_by_id not in (None, refund.requested_by_id), "paid above a limit alone"
    for batch in PriceDiffBatch.objects.filter(approval_needed=True, refunded_rows__gt=0):
        assert batch.decided_by_id not in (None, batch.uploaded_by_id), "a batch above a limit ran unapproved"


class MoneyProperties(TestCase):
    def setUp(self):
        self.people = {
            "agent": make_user("agent", username="prop_agent"),
            "supervisor": make_user("supervisor", username="prop_sup"),  # limit 200, not unlimited
            "unlimited": make_user("supervisor", username="prop_unl"),
            "approver": make_user("department_staff", username="prop_fin", department="finance"),
        }
        profile = self.people["unlimited"].staff_profile
        profile.refunds_unlimited = True
        profile.save()
        self.people["unlimited"].refresh_from_db()

    def _run_batch(self, order, items, rows, uploader):
        content = csv_bytes([(order.external_number, items[line].product.sku, str(price), "")
                             for line, price in rows])
        batch, _ = pricediff.pricediff_preview(actor=uploader, file_name="drop.csv", content=content)
        if batch.status != PriceDiffBatch.Status.PREVIEWED or not batch.valid_rows:
            return batch
        with self.captureOnCommitCallbacks(execute=True):
            batch = pricediff.pricediff_execute(batch=batch, actor=uploader)
        if batch.status == PriceDiffBatch.Status.AWAITING_APPROVAL:
            with self.captureOnCommitCallbacks(execute=True):
                batch = pricediff.pricediff_decide(batch=batch, actor=self.people["approver"], approve=True)
        return batch

    def _run_again(self, batch, order, items, rows, uploader):
        """Confirm again, re-deliver the job, upload the same file: nothing new is paid."""
        before = Refund.objects.count()
        batch.refresh_from_db()
        with pytest.raises(ValidationError), self.captureOnCommitCallbacks(execute=True):
            pricediff.pricediff_execute(batch=batch, actor=uploader)
        assert pricediff.pricediff_run(batch_id=batch.pk) is True
        again = self._run_batch(order, items, rows, uploader)
        assert again.pk == batch.pk
        assert Refund.objects.count() == before

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(lines=st.lists(line_st, min_size=1, max_size=4), ops=ops_st)
    def test_refunds_never_exceed_what_was_paid_and_above_a_limit_someone_else_approved(self, lines, ops):
        order, items = build_order(lines)
        for op in ops:
            if op[0] == "refund":
                _, mask, cents, who = op
                chosen = [item for index, item in enumerate(items) if mask >> index & 1]
                try:
                    refund_request(order=order, amount=_cents(cents), reason="random", actor=self.people[who],
                                   items=chosen)
                except ValidationError:
                    pass  # over what is left: refused, and nothing written
            elif op[0] == "fail":
                refunds = list(Refund.objects.filter(order=order, status__in=COUNTING[:2]).order_by("id"))
                if refunds:
                    refund_mark_failed(refund=refunds[op[1] % len(refunds)], reason="支付失败")
            else:
                _, drops, who = op
                rows, seen = [], set()
                for line, percent in drops:
                    line %= len(items)
                    if line not in seen:  # a line twice in one file is refused by design; tested elsewhere
                        seen.add(line)
                        rows.append((line, (items[line].unit_price * percent / 100).quantize(CENT)))
                batch = self._run_batch(order, items, rows, self.people[who])
                if batch.status == PriceDiffBatch.Status.DONE:
                    self._run_again(batch, order, items, rows, self.people[who])
            assert_money_invariants(order)


# Concurrent requests on PostgreSQL: the order's row lock makes them serial ---------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(paid_cents=st.integers(min_value=100, max_value=100_000),
       amounts=st.lists(st.integers(min_value=1, max_value=100_000), min_size=2, max_size=6))
def test_concurrent_refunds_on_one_line_never_exceed_what_was_paid(paid_cents, amounts):
    actor = make_user("supervisor", username=f"race_{CustomerFactory().pk}")
    order = OrderFactory(customer=CustomerFactory(), paid_amount=_cents(paid_cents))
    item = OrderItemFactory(order=order, unit_price=_cents(paid_cents), paid_amount=_cents(paid_cents))

    results = run_together(*[
        (lambda cents=cents: refund_request(order=order, amount=_cents(cents), reason="race", actor=actor,
                                            items=[item]))
        for cents in amounts
    ])

    accepted = sum((r.amount for r in results if isinstance(r, Refund)), Decimal("0"))
    assert accepted <= item.paid_amount
    for cents, result in zip(amounts, results, strict=True):
        if not isinstance(result, Refund):
            assert isinstance(result, ValidationError), result
            # Refused only because what was left at its turn (never less than what is left now) was too little.
            assert _cents(cents) > item.paid_amount - accepted
    assert_money_invariants(order)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_running_one_approved_batch_pay_each_row_once():
    uploader = make_user("supervisor", username="race_up")
    orders = []
    for n in range(40):
        order = OrderFactory(external_number=f"RACE-{n}", customer=CustomerFactory(), paid_amount=Decimal("99.00"))
        OrderItemFactory(order=order, product=ProductFactory(sku=f"RACE-SKU-{n}"), unit_price=Decimal("120.00"),
                         paid_amount=Decimal("99.00"))
        orders.append(order)
    content = csv_bytes([(f"RACE-{n}", f"RACE-SKU-{n}", "59", "") for n in range(40)])
    batch, _ = pricediff.pricediff_preview(actor=uploader, file_name="race.csv", content=content)
    assert batch.approval_needed is False and batch.valid_amount == Decimal("1600.00")
    # No job from on_commit here: the two threads below are the workers.
    PriceDiffBatch.objects.filter(pk=batch.pk).update(status=PriceDiffBatch.Status.RUNNING)

    worker = lambda: pricediff.pricediff_run(batch_id=batch.pk)  # noqa: E731
    run_together(worker, worker)

    assert Refund.objects.filter(kind=Refund.Kind.PRICE_DIFFERENCE).count() == 40
    assert {r.amount for r in Refund.objects.all()} == {Decimal("40.00")}  # 99 paid − 59, not 120 − 59
    for order in orders:
        assert_money_invariants(order)
