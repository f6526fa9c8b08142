"""Writing a sweep's rows at once: many tickets' SLA columns, and their notices.

Django's bulk_update writes `SET col = CASE WHEN id = 1 THEN … WHEN id = 2 THEN … END` for every
column, which PostgreSQL evaluates row by row against every branch: for a sweep batch of 500 tickets
that one statement costs more than everything else the batch does. On PostgreSQL the rows go as one
`UPDATE … FROM (VALUES …)` joined on the primary key instead; other databases keep bulk_update.
Like bulk_update, it writes the attributes as they are (no save(), no version bump, no signals).
"""

import json

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
    # One JSON document rather than an array per column (see events_record_rows).
    payload = json.dumps(rows, cls=DjangoJSONEncoder, ensure_ascii=False)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(Notification._meta.db_table)} "
            "(recipient_id, kind, ticket_id, data, dedupe_key, created_at) "
            "SELECT (e->>0)::integer, e->>1, (e->>2)::bigint, e->3, e->>4, %s "
            "FROM jsonb_array_elements(%s::jsonb) AS e "
            "ON CONFLICT ON CONSTRAINT notification_once_per_recipient DO NOTHING",
            [now, payload],
        )
