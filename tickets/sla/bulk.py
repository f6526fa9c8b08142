"""Writing many tickets' SLA columns at once.

Django's bulk_update writes `SET col = CASE WHEN id = 1 THEN … WHEN id = 2 THEN … END` for every
column, which PostgreSQL evaluates row by row against every branch: for a sweep batch of 500 tickets
that one statement costs more than everything else the batch does. On PostgreSQL the rows go as one
`UPDATE … FROM (VALUES …)` joined on the primary key instead; other databases keep bulk_update.
Like bulk_update, it writes the attributes as they are (no save(), no version bump, no signals).
"""

from django.db import connection

from ..models import Ticket


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
