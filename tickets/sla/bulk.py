"""Writing a sweep's rows at once: many tickets' SLA columns, their next checks, and their notices.

Django's bulk_update writes `SET col = CASE WHEN id = 1 THEN … WHEN id = 2 THEN … END` for every
column, which PostgreSQL evaluates row by row against every branch: for a sweep batch of 500 tickets
that one statement costs more than everything else the batch does. On PostgreSQL the rows go as one
JSON document, `UPDATE … FROM jsonb_array_elements(…)` joined on the primary key, instead (a VALUES list of
1,000 rows with a cast per value cost 78 ms to send and read, the JSON 16 ms); other databases keep
bulk_update.
Like bulk_update, it writes the attributes as they are (no save(), no version bump, no signals).
"""

import json
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import JSONField
from django.utils import timezone

from ..models import Notification, SLACheck, Ticket


def bulk_update_tickets(tickets: list[Ticket], fields: list[str]) -> None:
    if not tickets or not fields:
        return
    if connection.vendor != "postgresql":
        Ticket.objects.bulk_update(tickets, fields)
        return
    meta = Ticket._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    json_fields = {field for field in columns if isinstance(field, JSONField)}
    rows = []
    for ticket in tickets:
        row = [ticket.pk]
        for field in columns:
            value = getattr(ticket, field.attname)
            if field not in json_fields:
                value = field.get_db_prep_save(value, connection)
            row.append(value.isoformat() if isinstance(value, datetime) else value)  # to the microsecond
        rows.append(row)
    # Each value read out of the JSON and cast to its column's type; a JSON column's value stays a document
    # (None is SQL NULL, as Django stores it).
    values = ", ".join(
        f"nullif(e->{i}, 'null') AS {quote(field.column)}" if field in json_fields
        else f"(e->>{i})::{field.db_type(connection)} AS {quote(field.column)}"
        for i, field in enumerate([meta.pk, *columns])
    )
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in columns)
    pk = quote(meta.pk.column)
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
        f"FROM (SELECT {values} FROM jsonb_array_elements(%s::jsonb) AS e) AS v WHERE t.{pk} = v.{pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows, cls=DjangoJSONEncoder)])  # datetimes are strings by now


def notifications_insert_rows(rows: list[tuple[int, str, int, dict, str]]) -> None:
    """Store notices given as (recipient_id, kind, ticket_id, data, dedupe_key), skipping any whose
    recipient already has its key (notification_once_per_recipient): so a notice is stored, and mailed,
    once whichever sweep gets there first. On PostgreSQL one INSERT reading one JSON document: a catch-up's ~4 notices a
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


def sla_checks_save(tickets: list[Ticket], *, plans: bool = True) -> None:
    """Store the tickets' next SLA checks as set on them (Ticket.sla_next_check_at) with their plans
    (Ticket.sla_plan; `plans=False`: the next check only, for tickets whose plan stands): one upsert for
    those that have a check, one delete for those that have none."""
    scheduled = [ticket for ticket in tickets if ticket.sla_next_check_at]
    unscheduled = [ticket.pk for ticket in tickets if ticket.sla_next_check_at is None]
    if unscheduled:
        SLACheck.objects.filter(ticket_id__in=unscheduled).delete()
    if not scheduled:
        return
    fields = ["at", "plan"] if plans else ["at"]
    if connection.vendor != "postgresql":
        SLACheck.objects.bulk_create(
            [SLACheck(ticket_id=ticket.pk, at=ticket.sla_next_check_at, plan=ticket.sla_plan) for ticket in scheduled],
            update_conflicts=True, unique_fields=["ticket"], update_fields=fields,
        )
        return
    # isoformat: to the microsecond; a plan is a JSON document of its own (None: SQL NULL, as Django stores it).
    payload = json.dumps([(ticket.pk, ticket.sla_next_check_at.isoformat(), ticket.sla_plan if plans else None)
                          for ticket in scheduled])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(SLACheck._meta.db_table)} (ticket_id, at, plan) "
            "SELECT (e->>0)::bigint, (e->>1)::timestamptz, nullif(e->2, 'null') "
            "FROM jsonb_array_elements(%s::jsonb) AS e "
            f"ON CONFLICT (ticket_id) DO UPDATE SET {', '.join(f'{f} = EXCLUDED.{f}' for f in fields)}",
            [payload],
        )
