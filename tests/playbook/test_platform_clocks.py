"""Platform after-sales clocks: per-platform default policies, and a platform's own deadline wins."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory, make_user
from tickets import services

pytestmark = pytest.mark.django_db


def test_a_taobao_refund_request_runs_on_the_taobao_policy_with_the_48_hour_reply():
    agent = make_user("agent", username="pc_agent")
    ticket = services.ticket_create(actor=agent, channel="platform", description="申请仅退款",
                                    customer=CustomerFactory(platform="taobao"), type="refund_only")
    assert ticket.sla_policy.platform == "taobao" and ticket.sla_policy.ticket_type == "refund_only"
    assert ticket.first_response_due_at == ticket.created_at + timedelta(hours=48)
    assert ticket.resolution_due_at == ticket.created_at + timedelta(days=5)


def test_the_platforms_own_deadline_replaces_the_default_first_response_target(client):
    agent = make_user("agent", username="pc_agent2")
    deadline = timezone.now() + timedelta(hours=13, minutes=30)
    ticket = services.ticket_create(actor=agent, channel="platform", description="申请退货退款",
                                    customer=CustomerFactory(platform="douyin"), type="return_refund",
                                    platform_deadline_at=deadline)
    assert ticket.first_response_due_at == deadline

    client.force_login(agent)
    page = client.get(f"/tickets/{ticket.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The platform decides for the buyer in 13" in page
