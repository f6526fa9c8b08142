"""Run by bench/peer.py with the PEER's python (the throwaway virtualenv holding django-helpdesk from PyPI),
inside the Django project bench/peer.py generated: it imports django-helpdesk's models, never the desk's.

    <peer venv>/bin/python bench/peer_helpdesk.py seed --tickets 100000
    <peer venv>/bin/python bench/peer_helpdesk.py escalate --due 59 --runs 3

`seed` fills a freshly migrated database with the shape of bench/dataset.py: N tickets over the last
year, 3% open (mostly the newest), ~6 follow-ups a ticket, a customer (submitter e-mail) per three
tickets, one queue per ticket type, the same 43 staff logins (password "bench"), and the last ticket open
with 50 follow-ups (the ticket page's ticket, as ours has 50 timeline events). Rows go in by COPY; the
marker table `bench_peer_dataset` is written last, so a half-built database is never reused.

`escalate` makes exactly --due open tickets due for escalation (the rest were escalated an hour ago),
then times `call_command("escalate_tickets")` in this process, --runs times (the state restored before
each), and prints one JSON line: the in-process milliseconds of each run, the tickets escalated, the
SQL statements sent.

Stdlib and the peer's Django only: nothing here may import the desk.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta

DATASET_VERSION = 1
PASSWORD = "bench"
OPEN_SHARE = 0.03
FOLLOWUPS_MEAN = 6
DETAIL_FOLLOWUPS = 50
ESCALATE_DAYS = 3
# bench/dataset.py's staff (prefix, count); all are staff in django-helpdesk terms, benchadmin a superuser.
STAFF = (("agent", 26), ("senior", 4), ("supervisor", 3), ("warehouse", 2), ("finance", 2), ("logistics", 2),
         ("tech", 2), ("quality", 1), ("benchadmin", 1))
# bench/dataset.py's ticket types and weights: one queue each.
QUEUES = (("return_refund", "退货退款", 22), ("refund_only", "仅退款", 16), ("exchange", "换货", 12),
          ("reship", "补寄", 7), ("repair", "维修", 6), ("price_difference", "退差价", 5),
          ("consultation", "咨询", 18), ("complaint", "投诉", 7), ("tech_support", "技术支持", 7))
PRODUCTS = ("轻薄羽绒服", "纯棉T恤", "运动跑鞋", "真丝连衣裙", "蓝牙耳机", "保温杯", "双肩背包", "智能手表")
PROBLEMS = ("洗了一次就掉色，要求退货退款。", "收到的尺码和下单的不一样，想换一件。", "快递显示签收但没有收到。",
            "用了三天就坏了，开不了机。", "降价了，申请退差价。", "客服回复太慢，要投诉。", "少发了一件配件。",
            "请问怎么设置，说明书看不懂。")
REPLIES = ("您好，已为您登记，请提供一下照片。", "照片已收到，仓库会在两个工作日内处理。", "好的，谢谢。",
           "已经寄回了，单号在订单里。", "退款已原路返回，请留意到账。", "还没收到，麻烦再查一下。")
N = "\\N"  # NULL in COPY text
STATUS_LABELS = {1: "Open", 2: "Reopened", 3: "Resolved", 4: "Closed"}


def _setup():
    import django

    django.setup()


def _copy(cursor, table: str, columns: str, rows: list[str]) -> None:
    if rows:
        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.BytesIO(("\n".join(rows) + "\n").encode()))


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", "\\n")


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def seed(n: int, seed_value: int = 7) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from helpdesk.models import Queue, Ticket

    rng = random.Random(seed_value)
    now = time.time()
    started = time.perf_counter()
    User = get_user_model()  # noqa: N806
    password = make_password(PASSWORD)  # hashed once: 43 hashes cost seconds on a busy machine
    with transaction.atomic():
        users = {}
        for prefix, count in STAFF:
            for k in range(1, count + 1):
                username = prefix if count == 1 and prefix == "benchadmin" else (
                    f"{prefix}{k:02d}" if count > 9 else f"{prefix}{k}")
                # A save (not COPY) runs django-helpdesk's post_save signal: each user gets its UserSettings row.
                user = User.objects.create(username=username, email=f"{username}@bench.example.com",
                                           password=password, is_staff=True, is_superuser=prefix == "benchadmin")
                users[username] = user.pk
        agents = [pk for name, pk in users.items() if name.startswith(("agent", "senior"))]
        queues = [Queue.objects.create(title=label, slug=slug, escalate_days=ESCALATE_DAYS,
                                       allow_public_submission=False, allow_email_submission=False).pk
                  for slug, label, _ in QUEUES]
    queue_weights = [w for _, _, w in QUEUES]

    # Creation times over the last 365 days, ascending with the id; the last ticket a few days old.
    created = sorted(now - 365 * 86400 * rng.random() ** 1.15 for _ in range(n))  # a growing shop
    created[n - 1] = now - 5 * 86400 - 3 * 3600
    # Open: 3%, mostly the newest (bench/dataset.py's weighting), and the ticket page's ticket.
    k_open = max(1, round(OPEN_SHARE * n))
    keys = []
    for i in range(n - 1):
        age = (now - created[i]) / 86400
        weight = math.exp(-age / 2.5) + 0.04 * math.exp(-age / 30) + 0.0015
        keys.append(math.log(1.0 - rng.random()) / weight)
    open_ids = set(sorted(range(n - 1), key=keys.__getitem__, reverse=True)[: k_open - 1]) | {n - 1}

    tickets, followups, changes = [], [], []
    followup_id = change_id = 0
    for i in range(n):
        ticket_id = i + 1
        t0 = created[i]
        is_open = i in open_ids
        queue = rng.choices(queues, queue_weights)[0]
        status = (2 if rng.random() < 0.1 else 1) if is_open else (3 if rng.random() < 0.15 else 4)
        assignee = agents[0] if i == n - 1 else (N if is_open and rng.random() < 0.05 else rng.choice(agents))
        email = f"c{i // 3}@buyer.example.com"  # a customer per three tickets
        product, problem = rng.choice(PRODUCTS), rng.choice(PROBLEMS)
        title = f"{product}：{problem[:12]}"
        description = f"订单 {100000000 + i}，{product}。{problem}"
        count = DETAIL_FOLLOWUPS if i == n - 1 else max(2, min(12, round(rng.gauss(FOLLOWUPS_MEAN, 2))))
        end = now - 60 if is_open else min(now - 60, t0 + rng.uniform(0.5, 6) * 86400)
        step = (end - t0) / count
        last = t0
        for k in range(count):
            followup_id += 1
            date = t0 + k * step + rng.uniform(0, step / 2)
            last = date
            staff = k % 2 == 1
            closing = not is_open and k == count - 1
            new_status = str(status) if closing else N
            if k == 0:
                ftitle, comment, user, public = "Ticket Opened", description, N, "t"
            elif closing:
                ftitle, comment, user, public = STATUS_LABELS[status], "问题已处理完毕。", assignee, "t"
            else:
                ftitle = "Comment" if staff else "E-Mail Received"
                comment, user = rng.choice(REPLIES), (assignee if staff else N)
                public = "t" if rng.random() < 0.85 else "f"
            user = N if user == N else str(user)
            followups.append(f"{followup_id}\t{ticket_id}\t{_ts(date)}\t{ftitle}\t{_text(comment)}\t{public}\t"
                             f"{user}\t{new_status}\t\\N\t\\N\t[]")
            if closing:
                change_id += 1
                changes.append(f"{change_id}\t{followup_id}\tStatus\tOpen\t{STATUS_LABELS[status]}")
        escalated = _ts(now - 3600) if is_open else N  # open ones: escalated an hour ago, not due
        resolution = N if is_open else "已处理。"
        tickets.append(f"{ticket_id}\t{_text(title)}\t{queue}\t{_ts(t0)}\t{_ts(last)}\t{email}\t{assignee}\t{status}\t"
                       f"f\t{_text(description)}\t{resolution}\t{rng.choice((2, 3, 3, 3, 4))}\t{N}\t{escalated}\t"
                       f"{rng.getrandbits(40):010x}\t{N}\t{N}")
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        _copy(raw, "helpdesk_ticket", "id, title, queue_id, created, modified, submitter_email, assigned_to_id, "
              "status, on_hold, description, resolution, priority, due_date, last_escalation, secret_key, "
              "kbitem_id, merged_to_id", tickets)
        _copy(raw, "helpdesk_followup", "id, ticket_id, date, title, comment, public, user_id, new_status, "
              "message_id, time_spent, email_recipients", followups)
        _copy(raw, "helpdesk_ticketchange", "id, followup_id, field, old_value, new_value", changes)
        for table in ("helpdesk_ticket", "helpdesk_followup", "helpdesk_ticketchange"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT coalesce(max(id), 1) FROM {table}))")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    details = {
        "detail_ticket_id": n, "supervisor_username": "supervisor1", "password": PASSWORD,
        "open_tickets": Ticket.objects.filter(status__in=[1, 2]).count(), "followups": followup_id,
        "seconds": round(time.perf_counter() - started, 1),
    }
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_peer_dataset (n_tickets integer, seed integer, "
                       "version integer, package text, finished_at timestamptz, details jsonb)")
        cursor.execute("INSERT INTO bench_peer_dataset VALUES (%s, %s, %s, %s, now(), %s)",
                       [n, seed_value, DATASET_VERSION, package_version(), json.dumps(details)])
    return details


def package_version() -> str:
    from importlib.metadata import version

    return version("django-helpdesk")


def make_due(due: int) -> int:
    """Undo earlier escalation runs, then make the `due` oldest-created open tickets due (last escalated
    ten days ago): the same number of tickets as our sweep finds due, the rest escalated an hour ago."""
    from django.db import connection, transaction
    from helpdesk.models import FollowUp, Ticket

    with transaction.atomic():
        FollowUp.objects.filter(title="Ticket Escalated").delete()  # with their TicketChange rows
        now = datetime.now(UTC)
        open_tickets = Ticket.objects.filter(status__in=[1, 2])
        open_tickets.update(last_escalation=now - timedelta(hours=1))
        ids = list(open_tickets.exclude(priority=1).order_by("id").values_list("id", flat=True)[:due])
        Ticket.objects.filter(id__in=ids).update(last_escalation=now - timedelta(days=10), priority=3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE helpdesk_ticket")
    return len(ids)


def escalate(due: int, runs: int) -> dict:
    from django.core.management import call_command
    from django.db import connection
    from helpdesk.models import FollowUp

    timings, escalated, queries = [], [], []
    for _ in range(runs):
        made_due = make_due(due)
        sent = [0]

        def count(execute, sql, params, many, context, sent=sent):
            sent[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            started = time.perf_counter()
            call_command("escalate_tickets", stdout=io.StringIO())
            timings.append(round((time.perf_counter() - started) * 1000, 1))
        escalated.append(FollowUp.objects.filter(title="Ticket Escalated").count())
        queries.append(sent[0])
        if escalated[-1] != made_due:
            raise RuntimeError(f"escalate_tickets escalated {escalated[-1]} of {made_due} due tickets")
    make_due(due)  # leave the next run (and manage.py timed by bench/peer.py) the same work
    return {"runs_ms": timings, "escalated": escalated[-1], "queries": queries[-1]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    seeding = sub.add_parser("seed")
    seeding.add_argument("--tickets", type=int, required=True)
    seeding.add_argument("--seed", type=int, default=7)
    escalation = sub.add_parser("escalate")
    escalation.add_argument("--due", type=int, required=True)
    escalation.add_argument("--runs", type=int, default=3)
    sub.add_parser("due").add_argument("--due", type=int, required=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.getcwd())  # the generated project (bench/peer.py runs this from its folder)
    _setup()
    if args.command == "seed":
        result = seed(args.tickets, args.seed)
    elif args.command == "escalate":
        result = escalate(args.due, args.runs)
    else:
        result = {"due": make_due(args.due)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
