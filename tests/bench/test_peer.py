"""bench/peer.py's arithmetic, table and arguments (no network, no pip, no database: the pure parts).

The installation, seeding and measuring themselves run in `bench/suite.py --peer` (see README "Benchmark")."""

import importlib
import os

import pytest

from bench import peer

DESK = {
    "queue_page": {"p50_ms": 10.0, "p95_ms": 14.0, "load_before": 1.0, "load_after": 1.2, "busy": False},
    "queue_api": {"p50_ms": 4.0, "p95_ms": 5.0, "load_before": 1.2, "load_after": 1.1, "busy": False},
    "ticket_page": {"p50_ms": 40.0, "p95_ms": 50.0},
    "dashboard": {"error": "RuntimeError('boom')"},
    "search_word": {"p50_ms": 30.0, "p95_ms": 31.0},  # not compared: never in the peer's table
}
PEER = {
    "queue_page": {"p50_ms": 200.0, "p95_ms": 260.0, "load_before": 1.1, "load_after": 1.5, "busy": True},
    "queue_api": {"p50_ms": 6_400.0, "p95_ms": 7_000.0},
    "ticket_page": {"p50_ms": 20.0, "p95_ms": 25.0},
    "dashboard": {"p50_ms": 90.0, "p95_ms": 120.0},
    "sla_sweep": {"error": "RuntimeError('no escalation')"},
}


def test_the_ratio_is_the_peers_p50_over_ours_and_missing_when_either_side_is():
    assert peer.ratio(10.0, 200.0) == 20.0
    assert peer.ratio(40.0, 20.0) == 0.5
    assert peer.ratio(None, 20.0) is None
    assert peer.ratio(10.0, None) is None
    assert peer.ratio(0.0, 5.0) is None


@pytest.mark.parametrize(("value", "shown"), [
    (None, "-"), (0.5, "0.50×"), (1.04, "1.04×"), (20.0, "20.0×"), (62.44, "62.4×"), (1_600.4, "1,600×"),
])
def test_ratios_are_shown_with_precision_that_fits_their_size(value, shown):
    assert peer.format_ratio(value) == shown


def test_rows_pair_the_compared_measurements_and_carry_errors_instead_of_a_ratio():
    rows = {r["measurement"]: r for r in peer.comparison_rows(DESK, PEER)}

    assert list(rows) == ["queue_page", "queue_api", "ticket_page", "dashboard", "sla_sweep"]
    assert rows["queue_page"]["ratio"] == 20.0 and rows["queue_page"]["busy"] is True
    assert rows["queue_page"]["desk_load"] == "1.0→1.2" and rows["queue_page"]["peer_load"] == "1.1→1.5 BUSY"
    assert rows["queue_api"]["ratio"] == 1_600.0 and rows["queue_api"]["busy"] is False
    assert rows["ticket_page"]["ratio"] == 0.5
    # Our dashboard failed: no desk figure, no ratio, the error shown; the peer's figure still is.
    assert rows["dashboard"]["desk_p50_ms"] is None and rows["dashboard"]["ratio"] is None
    assert rows["dashboard"]["peer_p50_ms"] == 90.0 and "boom" in rows["dashboard"]["error"]
    # The peer's escalation failed and we did not measure a sweep: still a row, saying so.
    assert rows["sla_sweep"]["ratio"] is None and "no escalation" in rows["sla_sweep"]["error"]


def test_the_table_prints_both_sides_the_ratio_and_the_busy_marks():
    rows = peer.comparison_rows(DESK, PEER)
    info = {"package": "django-helpdesk==2.6.1", "open_tickets": 3_000, "database": "peer_helpdesk_100000",
            "workers": 2}

    table = peer.comparison_table(rows, tickets=100_000, desk_open=3_000, peer=info, busy_share=0.25)
    lines = table.splitlines()

    assert "django-helpdesk==2.6.1 at 100,000 tickets" in lines[0] and "peer_helpdesk_100000" in lines[0]
    assert lines[1].split()[:6] == ["measurement", "desk", "p50", "desk", "p95", "helpdesk"]
    queue = next(line for line in lines if line.startswith("queue_page "))
    assert queue.split()[:6] == ["queue_page", "10.0", "14.0", "200.0", "260.0", "20.0×"]
    assert "BUSY" in queue
    api = next(line for line in lines if line.startswith("queue_api "))
    assert api.split()[:6] == ["queue_api", "4.0", "5.0", "6,400.0", "7,000.0", "1,600×"]
    dashboard = next(line for line in lines if line.startswith("dashboard "))
    assert dashboard.split()[:6] == ["dashboard", "-", "-", "90.0", "120.0", "-"] and "ERROR" in dashboard
    assert lines[-1].startswith("helpdesk/desk:") and "(queue_page)" in lines[-1]
    # bench/peer.py alone: no desk side.
    alone = peer.comparison_table(peer.comparison_rows({}, PEER), tickets=1_000, desk_open=None, peer=info,
                                  busy_share=0.25)
    assert alone.splitlines()[0].startswith("django-helpdesk==2.6.1 alone at 1,000 tickets (3,000 open")


def test_the_json_part_keeps_the_peers_figures_and_adds_rounded_ratios():
    rows = peer.comparison_rows(DESK, PEER)
    info = {"package": "django-helpdesk==2.6.1", "tickets": 100_000, "measurements": PEER}

    part = peer.summary(rows, info)

    assert part["package"] == "django-helpdesk==2.6.1" and part["measurements"] is PEER
    assert part["ratios"] == {"queue_page": 20.0, "queue_api": 1600.0, "ticket_page": 0.5, "dashboard": None,
                              "sla_sweep": None}


def test_only_selects_the_compared_measurements_by_name_or_prefix():
    assert peer.selected("") == list(peer.COMPARED)
    assert peer.selected("queue,sla_sweep") == ["queue_page", "queue_api", "sla_sweep"]
    assert peer.selected(["ticket_page", "search_word"]) == ["ticket_page"]
    assert peer.selected("search") is None


def test_peer_arguments_and_names():
    args = peer.parse_args(["--tickets", "10000", "--only", "dashboard", "--due", "7"])

    assert (args.tickets, args.selected, args.due, args.clean) == (10_000, ["dashboard"], 7, False)
    assert peer.database_name(args.tickets) == "peer_helpdesk_10000"
    assert peer.home().name == f"aftersales-peer-django-helpdesk-{peer.VERSION}"
    assert f"django-helpdesk=={peer.VERSION}" in peer.REQUIREMENTS
    with pytest.raises(SystemExit):
        peer.parse_args(["--only", "search"])
    with pytest.raises(SystemExit):
        peer.parse_args(["--tickets", "10"])


def test_the_suite_takes_peer_flags_and_refuses_a_peer_run_with_nothing_to_compare(monkeypatch):
    # Importing bench/suite.py sets DEBUG and other variables for its own runs: keep them out of this process.
    monkeypatch.setattr(os, "environ", dict(os.environ))
    suite = importlib.import_module("bench.suite")

    args = suite.parse_args(["--tickets", "10000", "--only", "queue_page,search", "--peer", "--peer-clean"])

    assert args.peer and args.peer_clean and args.peer_selected == ["queue_page"]
    assert suite.parse_args(["--tickets", "10000"]).peer is False
    with pytest.raises(SystemExit):
        suite.parse_args(["--only", "search", "--peer"])
