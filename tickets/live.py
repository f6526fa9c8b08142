"""What an open page needs to stay current without reloading (static/js/live.js polls for it).

- A change stamp: one small query says whether anything on a ticket (or anywhere on the desk) changed
  since the page was drawn; only then does the page fetch itself again and swap the parts that changed.
  The database is the truth, so an update made through one web replica reaches a page served by another,
  and a page that lost its connection catches up on the next answer without repeating anything.
- Presence: who else has a ticket open and who is typing a reply, kept in the cache for a few seconds
  (Redis when the desk runs on several replicas; the embedded default is one process and its memory).

Why polling rather than WebSockets or server-sent events: see README "Live updates" (measured).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.utils.dateparse import parse_datetime

from .models import Attachment, Delivery, Message, Subtask, Ticket, TicketEvent

T = TypeVar("T")

# A page polls every few seconds; someone silent for longer than this has left (closed the tab, lost the line).
PRESENCE_SECONDS = 12
TYPING_SECONDS = 6


def ticket_stamps(tickets) -> dict[int, str]:
    """Each ticket's change stamp: its version with the newest event, message and attachment, its
    subtasks' versions and its replies' latest delivery change. Anything shown on the ticket page changes
    one of them. One query for all.

    Written as SQL around the ORM's query for `tickets` (which may carry who may see what): the ticket page
    and every live poll read it, and building its five correlated subqueries through the ORM cost 2 ms of
    CPU a call, four times what PostgreSQL spends planning and running them."""
    ids = tickets.order_by().values("pk")
    try:
        ids_sql, params = ids.query.get_compiler(ids.db).as_sql()
    except EmptyResultSet:  # tickets.none(): someone who may see no ticket
        return {}
    latest = [f"(SELECT MAX(x.id) FROM {_table(model)} x WHERE x.ticket_id = t.id)"
              for model in (TicketEvent, Message, Attachment)]
    sql = (
        f"SELECT t.id, t.version, {', '.join(latest)}, "
        f"(SELECT SUM(s.version) FROM {_table(Subtask)} s WHERE s.ticket_id = t.id), "
        # A reply's delivery state (queued -> sent, failed, delivered) is shown on the timeline: its change counts.
        f"(SELECT MAX(d.updated_at) FROM {_table(Delivery)} d JOIN {_table(Message)} m ON m.id = d.message_id "
        f"WHERE m.ticket_id = t.id) "
        f"FROM {_table(Ticket)} t WHERE t.id IN ({ids_sql})"
    )
    with connections[ids.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {pk: "-".join(_stamp_part(part) for part in parts) for pk, *parts in rows}


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _stamp_part(part) -> str:
    if isinstance(part, str):  # a time through SQLite's plain cursor (PostgreSQL's gives a datetime)
        part = parse_datetime(part)
    if isinstance(part, datetime):
        return str(int(part.timestamp() * 1_000_000))
    return str(part or 0)


def desk_stamp() -> str:
    """Whether anything changed anywhere on the desk (queues, inboxes, dashboards): every change of a
    ticket or a subtask writes a timeline event; a customer's message may write none, so it counts too."""
    maxima = [f"(SELECT MAX(id) FROM {_table(model)})" for model in (TicketEvent, Message)]
    with connection.cursor() as cursor:  # both maxima in one round trip, each read off the primary key's index
        cursor.execute("SELECT " + ", ".join(maxima))
        return "-".join(str(value or 0) for value in cursor.fetchone())


def desk_shared(name: str, compute: Callable[[], T], stamp: str = "", seconds: int | None = None) -> T:
    """compute()'s answer shared by every page and web process (the cache) for one state of the desk:
    `stamp`, desk_stamp() read before anything the page shows, so a page never shows figures older than
    itself. Without a stamp, for `seconds` (QUEUE_COUNTS_SECONDS unless given); at 0, computed every time.
    For figures that are the same for everyone who asks (the queue tabs' groups, the dashboard's open
    tickets, the filter bar's people and tags)."""
    seconds = settings.QUEUE_COUNTS_SECONDS if seconds is None else seconds
    if seconds <= 0:
        return compute()
    key = f"{name}:{stamp}" if stamp else _window_key(name, seconds)
    return cache.get_or_set(key, compute, seconds * 2)


def desk_shared_forget(name: str, seconds: int) -> None:
    """Drop what desk_shared keeps for `name` in this window (no stamp), so the next page computes it afresh:
    a change made on the desk itself is seen at once, not at the next window."""
    if seconds > 0:
        cache.delete(_window_key(name, seconds))


def _window_key(name: str, seconds: int) -> str:
    return f"{name}:t{int(time.time() // seconds)}"


def replies_by_others(*, ticket_id: int, user, after_message_id: int) -> list[str]:
    """Who answered the customer on this ticket since the page was drawn (the composer warns its author)."""
    authors = (
        Message.objects.filter(ticket_id=ticket_id, direction=Message.Direction.OUTBOUND, id__gt=after_message_id)
        .exclude(author=user).select_related("author")
    )
    return sorted({_name(message.author) for message in authors if message.author})


# Presence ---------------------------------------------------------------------------------------


def _members_key(ticket_id: int) -> str:
    return f"presence:{ticket_id}"


def _person_key(ticket_id: int, user_id: int) -> str:
    return f"presence:{ticket_id}:{user_id}"


def presence_touch(*, ticket_id: int, user, typing: bool, now: float | None = None) -> None:
    """`user` has the ticket open (and is typing a reply, if so). Each person has their own short-lived
    key, so two people polling at once never overwrite each other; the list of who might be there is
    only read and rewritten when someone new arrives."""
    now = time.time() if now is None else now
    previous = cache.get(_person_key(ticket_id, user.pk)) or {}
    cache.set(_person_key(ticket_id, user.pk), {
        "name": _name(user), "seen": now, "typing": now if typing else previous.get("typing", 0),
    }, PRESENCE_SECONDS)
    members = cache.get(_members_key(ticket_id)) or []
    if user.pk not in members:
        cache.set(_members_key(ticket_id), [*members[-19:], user.pk], PRESENCE_SECONDS * 10)


def presence_others(*, ticket_id: int, user, now: float | None = None) -> list[dict]:
    """The other people on the ticket now: name, and whether they typed in the last few seconds."""
    now = time.time() if now is None else now
    members = [pk for pk in cache.get(_members_key(ticket_id)) or [] if pk != user.pk]
    found = cache.get_many([_person_key(ticket_id, pk) for pk in members])
    return sorted(
        ({"name": entry["name"], "typing": now - entry["typing"] < TYPING_SECONDS}
         for entry in found.values() if now - entry["seen"] < PRESENCE_SECONDS),
        key=lambda person: person["name"],
    )


def presence_leave(*, ticket_id: int, user) -> None:
    cache.delete(_person_key(ticket_id, user.pk))


def _name(user) -> str:
    return user.get_full_name() or user.get_username()



def ticket_stamp_for(visible_tickets, ticket_id: int) -> str | None:
    """The stamp of one ticket among `visible_tickets` (None: not there, so not visible to the asker)."""
    return ticket_stamps(visible_tickets.filter(pk=ticket_id)).get(ticket_id)
