"""Reads of tickets with their related rows fetched up front (constant queries per page)."""

from django.db.models import Prefetch, QuerySet

from .models import Attachment, Message, Ticket, TicketEvent


def ticket_list(queryset: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    queryset = Ticket.objects.all() if queryset is None else queryset
    return queryset.select_related("customer", "order", "assignee")


def ticket_detail(queryset: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    return ticket_list(queryset).prefetch_related(
        "tags",
        "affected_items__product",
        Prefetch("events", queryset=TicketEvent.objects.select_related("actor")),
        Prefetch("messages", queryset=Message.objects.select_related("author")),
        Prefetch("attachments", queryset=Attachment.objects.select_related("uploaded_by")),
    )
