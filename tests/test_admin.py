"""Every model has an admin page that opens (list, search, filters) for an admin."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse


@pytest.mark.django_db
def test_every_admin_changelist_and_change_page_opens(client, django_user_model):
    call_command("seed_demo", "--allow-production", stdout=open("/dev/null", "w"))
    client.force_login(django_user_model.objects.get(username="admin"))
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = client.get(url, {"q": "测试"} if model_admin.search_fields else {})
        assert response.status_code == 200, url
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, change


@pytest.mark.django_db
def test_tickets_and_timeline_cannot_be_edited_or_deleted_in_admin(client, django_user_model):
    from tickets.models import Ticket, TicketEvent

    call_command("seed_demo", "--allow-production", stdout=open("/dev/null", "w"))
    client.force_login(django_user_model.objects.get(username="admin"))
    ticket = Ticket.objects.first()
    event = TicketEvent.objects.first()
    response = client.post(reverse("admin:tickets_ticket_change", args=[ticket.pk]), {"status": "archived"})
    assert response.status_code == 403
    assert client.post(reverse("admin:tickets_ticketevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert TicketEvent.objects.filter(pk=event.pk).exists()
