"""refund_request_lines (the price-difference run's bulk path) decides exactly what refund_request
decides when the same line refunds are asked one after another: the same refunds, the same refusals
with the same reasons, the same approvers. Property-tested over random orders, earlier refunds and
requests, so the money rule stays in one place however many lines a statement carries."""


from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from orders.models import Refund
from orders.services import LineRefund, refund_request, refund_request_lines
from tests.factories import make_user
from tests.playbook.test_money_properties import _cents, assert_money_invariants, build_order, line_st

earlier_st = st.lists(
    st.tuples(st.integers(min_value=0, max_value=15), st.integers(min_value=1, max_value=100_000)), max_size=3
)  # (which lines, bit mask, 0 = the whole order; amount in cents), requested by an unlimited user
ask_st = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),  # line
        st.integers(min_value=-100, max_value=80_000),  # amount, cents (zero and below are refused)
        st.integers(min_value=0, max_value=2),  # dedupe key: the same key twice is one refund
    ),
    min_size=1, max_size=8,
)


class RefundLinesAgreeWithRefundRequest(TestCase):
    def setUp(self):
        self.unlimited = make_user("supervisor", username="lines_unl")
        self.unlimited.staff_profile.refunds_unlimited = True
        self.unlimited.staff_profile.save()
        self.unlimited.refresh_from_db()
        self.people = {"supervisor": make_user("supervisor", username="lines_sup"),  # limit 200
                       "approver": make_user("supervisor", username="lines_app")}

    def _order(self, lines, earlier):
        order, items = build_order(lines)
        for mask, cents in earlier:
            try:
                refund_request(order=order, amount=_cents(cents), reason="earlier", actor=self.unlimited,
                               items=[item for index, item in enumerate(items) if mask >> index & 1])
            except ValidationError:
                pass
        return order, items

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(lines=st.lists(line_st, min_size=1, max_size=4), earlier=earlier_st, asks=ask_st,
           approved=st.booleans())
    def test_the_bulk_path_refunds_and_refuses_as_one_by_one_would(self, lines, earlier, asks, approved):
        approver = self.people["approver"] if approved else None
        one_by_one, one_items = self._order(lines, earlier)
        bulk, bulk_items = self._order(lines, earlier)

        expected = []
        for line, cents, key in asks:
            item = one_items[line % len(one_items)]
            dedupe_key = f"t:{one_by_one.pk}:{line % len(one_items)}:{key}"
            if Refund.objects.filter(dedupe_key=dedupe_key).exists():
                expected.append(("duplicate", None))
                continue
            try:
                refund = refund_request(order=one_by_one, amount=_cents(cents), reason="drop", items=[item],
                                        actor=self.people["supervisor"], approved_by=approver,
                                        must_be_approved=True, kind=Refund.Kind.REFUND,
                                        dedupe_key=dedupe_key)
            except ValidationError as error:
                expected.append(("refused", "; ".join(error.messages)))
            else:
                lines_named = [one_items.index(named) for named in refund.items.all()]
                expected.append(("refunded", (refund.amount, refund.status, refund.approved_by_id, lines_named)))

        outcomes = refund_request_lines(
            lines=[LineRefund(item=bulk_items[line % len(bulk_items)], amount=_cents(cents), reason="drop",
                              dedupe_key=f"t:{bulk.pk}:{line % len(bulk_items)}:{key}")
                   for line, cents, key in asks],
            actor=self.people["supervisor"], kind=Refund.Kind.REFUND, approved_by=approver,
            must_be_approved=True,
        )

        got = []
        for outcome in outcomes:
            if outcome.duplicate:
                got.append(("duplicate", None))
            elif outcome.error:
                got.append(("refused", outcome.error))
            else:
                refund = Refund.objects.get(pk=outcome.refund.pk)
                lines_named = [bulk_items.index(named) for named in refund.items.all()]
                got.append(("refunded", (refund.amount, refund.status, refund.approved_by_id, lines_named)))
        assert got == expected
        assert_money_invariants(bulk)
