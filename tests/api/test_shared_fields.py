"""The signed webhooks' serializers take shallow copies of their declared fields (aftersales.api.SharedFieldSetup)
instead of DRF's deep copy: what they accept, refuse (with which messages) and give back must be what the deep
copy gives, for any payload."""

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from tests.api.test_intake import TAOBAO_EVENT
from tickets.api.intake import ChatMessageSerializer, DeliveryReportSerializer, IntakePayloadSerializer

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**13, 10**13) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=5,
)


def field_values(*candidates):
    """A field's value: one of the given (valid and invalid ones), or any JSON at all."""
    return st.one_of(st.sampled_from(candidates), ANY_JSON)


FIELDS = {
    "kind": field_values("aftersale", "message", ""),
    "platform": field_values("taobao", "jd", "douyin", "ebay"),
    "aftersale_id": field_values("TB-1", "", " ", "x" * 101),
    "order_id": field_values("O-1", "\x00", "x" * 65),
    "buyer_account": field_values("tb_小王", ""),
    "buyer_name": field_values("小王", ""),
    "type": field_values("return_refund", "0", "30", "99"),
    "reason": field_values("尺码不符", "x" * 501),
    "amount": field_values("399.00", "-1", "1.234", 5, 5.5, "1e20"),
    "amount_fen": field_values(9900, -1, 10**12, "9900"),
    "evidence_urls": field_values(["https://img.example.com/a.jpg"], ["ftp://x"], ["https://a"] * 21, "https://a"),
    "platform_intervention": field_values(True, 1, "yes"),
    "status": field_values("requested", "cancelled", "open"),
    "created_at": field_values("2026-11-12T10:00:00+08:00", "yesterday"),
    "deadline_at": field_values("2026-12-20T10:00:00+08:00", "1999-01-01T00:00:00Z", None),
    "message_id": field_values("wx-1", ""),
    "text": field_values("亲，快递单号已经填好了", " "),
    "sent_at": field_values("2026-11-12T10:05:00+08:00", 0),
    "idempotency_key": field_values("6f1c2d3e-4b5a-4c6d-8e7f-000000000001", "nope"),
    "state": field_values("delivered", "failed", "lost"),
    "extra": ANY_JSON,
}
BASES = [
    {**TAOBAO_EVENT, "deadline_at": "2026-12-20T10:00:00+08:00"},
    {"kind": "message", "platform": "taobao", "aftersale_id": "TB-1", "message_id": "wx-1", "text": "退货已经寄出了",
     "sent_at": "2026-11-12T10:05:00+08:00", "evidence_urls": ["https://img.example.com/a.jpg"]},
    {"kind": "delivery", "idempotency_key": "6f1c2d3e-4b5a-4c6d-8e7f-000000000001", "state": "failed",
     "reason": "买家已关闭会话"},
]
# A valid report of each kind with up to two fields changed (to anything) or left out.
CHANGES = st.lists(st.sampled_from(sorted(FIELDS)).flatmap(lambda name: FIELDS[name].map(lambda value: (name, value))),
                   max_size=2)
PAYLOADS = st.builds(
    lambda base, changes, dropped: {name: value for name, value in {**base, **dict(changes)}.items()
                                    if name not in dropped},
    st.sampled_from(BASES), CHANGES, st.sets(st.sampled_from(sorted(FIELDS)), max_size=1),
)


def deep_copying(serializer_class):
    """The same serializer with DRF's own field setup (a deep copy per instance)."""
    return type(f"Deep{serializer_class.__name__}", (serializer_class,),
                {"get_fields": serializers.Serializer.get_fields})


def outcome(serializer_class, payload: dict):
    serializer = serializer_class(data=copy.deepcopy(payload))
    if serializer.is_valid():
        return "valid", serializer.validated_data
    return "invalid", serializer.errors


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=PAYLOADS)
def test_the_webhook_serializers_validate_as_with_drf_s_deep_copy(payload):
    for serializer_class in (IntakePayloadSerializer, ChatMessageSerializer, DeliveryReportSerializer):
        assert outcome(serializer_class, payload) == outcome(deep_copying(serializer_class), payload)


def test_each_base_is_valid_with_both_setups_and_gives_the_same_data():
    # The generated payloads start from these: many are valid, not only refusals.
    for base, serializer_class in zip(BASES, (IntakePayloadSerializer, ChatMessageSerializer,
                                              DeliveryReportSerializer), strict=True):
        assert outcome(serializer_class, base)[0] == "valid"
        assert outcome(serializer_class, base) == outcome(deep_copying(serializer_class), base)


def test_two_instances_do_not_share_their_bound_fields():
    first, second = IntakePayloadSerializer(data={}), IntakePayloadSerializer(data={})

    assert first.fields["reason"] is not second.fields["reason"]
    assert first.fields["reason"].parent is first and second.fields["reason"].parent is second
    assert IntakePayloadSerializer._declared_fields["reason"].parent is None  # the declared one is left unbound
