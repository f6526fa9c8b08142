"""Writing a sweep's rows at once: many tickets' SLA columns, and their notices.

Django's bulk_update writes `SET col = CASE WHEN id = 1 THEN … WHEN id = 2 THEN … END` for every
column, which PostgreSQL evaluates row by row against every branch: for a sweep batch of 500 tickets
that one statement costs more than everything else the batch does. On PostgreSQL the rows go as one
`UPDATE … FROM (VALUES …)` joined on the primary key instead; other databases keep bulk_update.
Like bulk_update, it writes the attributes as they are (no save(), no version bump, no signals).
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from ..models import Notification, Ticket


def bulk_update_tickets(tickets: list[Ticket], fields: list[str]) -> None:
    if not tickets or not fields:
        return
    if connection.vendor != "postgresql":
        Ticket.objects.bulk_update(tickets, fields)
        return
    meta = Ticket._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    # Each value cast to its column's type: a VALUES list otherwise guesses text (or fails on NULLs).
    casts = [meta.pk.db_type(connection), *(field.db_type(connection) for field in columns)]
    row = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    params = []
    for ticket in tickets:
        params.append(ticket.pk)
        params += [field.get_db_prep_save(getattr(ticket, field.attname), connection) for field in columns]
    names = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in columns)
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
        f"FROM (VALUES {', '.join([row] * len(tickets))}) AS v(id, {names}) WHERE t.{quote(meta.pk.column)} = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def notifications_insert_rows(rows: list[tuple[int, str, int, dict, str]]) -> None:
    """Store notices given as (recipient_id, kind, ticket_id, data, dedupe_key), skipping any whose
    recipient already has its key (notification_once_per_recipient): so a notice is stored, and mailed,
    once whichever sweep gets there first. On PostgreSQL one INSERT of arrays: a catch-up's ~4 notices a
    ticket as model instances cost more CPU than the rest of the sweep."""
    if not rows:
        return
    now = timezone.now()
    if connection.vendor != "postgresql":
        Notification.objects.bulk_create(
            [Notification(recipient_id=r, kind=k, ticket_id=t, data=d, dedupe_key=key) for r, k, t, d, key in rows],
            ignore_conflicts=True,
        )
        return
    dumps = DjangoJSONEncoder(ensure_ascii=False).encode
    data: dict[int, str] = {}  # a moment's notice goes to several recipients with the same dict
    recipients, kinds, tickets, texts, keys = zip(*(
        (r, k, t, data[id(d)] if id(d) in data else data.setdefault(id(d), dumps(d)), key)
        for r, k, t, d, key in rows
    ), strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(Notification._meta.db_table)} "
            "(recipient_id, kind, ticket_id, data, dedupe_key, created_at) "
            "SELECT r, k, t, d::jsonb, key, %s "
            "FROM unnest(%s::integer[], %s::text[], %s::bigint[], %s::text[], %s::text[]) AS u(r, k, t, d, key) "
            "ON CONFLICT ON CONSTRAINT notification_once_per_recipient DO NOTHING",
            [now, list(recipients), list(kinds), list(tickets), list(texts), list(keys)],
        )
