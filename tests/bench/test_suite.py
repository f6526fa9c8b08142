"""The big-promo bench suite (bench/suite.py) runs end to end at a tiny size and reports every figure.

It builds its own small dataset (database aftersales_bench_suite_test on DATABASE_URL's server, dropped
at the end), starts gunicorn, and writes its EXPLAIN plans to a temporary folder (not bench/plans/).
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "aftersales_bench_suite_test"
MEASUREMENTS = (
    "queue_page", "queue_api", "filtered_queue", "search_order", "search_phone", "search_word", "search_common",
    "ticket_page", "dashboard", "report_volume", "report_response_times", "report_sla", "report_csat", "report_reopens",
    "report_returns", "report_defects", "report_responsibility", "report_agents", "api_list_x1", "api_list_x2",
    "sla_sweep", "sla_sweep_all", "pricediff_preview", "pricediff_run", "intake",
)
PLANS = ("queue_page", "queue_api", "filtered_queue", "search_order", "search_phone", "search_word", "search_common",
         "ticket_page", "dashboard", "sla_sweep", "sla_sweep_all", "intake")

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900)]


def _drop_databases(url: str) -> None:
    import psycopg2

    admin = psycopg2.connect(urlunsplit(urlsplit(url)._replace(scheme="postgresql", path="/postgres")))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            for name in (DATABASE, f"{DATABASE}_scratch"):
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def test_suite_reports_every_measurement_with_figures_and_stores_the_plans(tmp_path):
    url = os.environ["DATABASE_URL"]
    json_out, plans = tmp_path / "suite.json", tmp_path / "plans"
    # The suite configures Django itself (production settings, DEBUG on in-process); not the test settings.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    command = [
        sys.executable, "bench/suite.py", "--tickets", "2000", "--database", DATABASE, "--requests", "5",
        "--warmup", "1", "--max-seconds", "10", "--seconds", "1", "--pricediff-rows", "300",
        "--pricediff-max-seconds", "60", "--json-out", str(json_out), "--plans-dir", str(plans),
    ]
    try:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=840)
    finally:
        _drop_databases(url)

    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert json.loads(json_out.read_text()) == summary
    assert summary["tickets"] >= 2000 and summary["failed"] == []
    measurements = summary["measurements"]
    assert set(measurements) == set(MEASUREMENTS)
    for name, figures in measurements.items():
        for key in ("p50_ms", "p95_ms", "queries"):
            assert isinstance(figures.get(key), int | float), (name, key, figures)
        assert figures["p95_ms"] >= figures["p50_ms"] >= 0, (name, figures)
        assert figures["queries"] > 0, (name, figures)
    intake = measurements["intake"]
    assert intake["ok"] > 0 and intake["statuses"].keys() == {"202"}, intake
    # A real Celery worker made every ticket; each event's time to its ticket is measured.
    assert intake["tickets_seen"] == intake["events"] > 0 and intake["ticket_p95_ms"] >= intake["ticket_p50_ms"] > 0
    # The CPU each event cost, in our web processes, the worker and the dataset's PostgreSQL backends.
    assert intake["cpu_ms_per_event"].keys() == {"web", "worker", "db"}, intake
    assert intake["cpu_ms_per_event"]["web"] > 0 and intake["cpu_ms_per_event"]["worker"] > 0, intake
    run = measurements["pricediff_run"]
    assert {"processed_rows", "refunded_rows", "rows_per_s", "jobs", "finished"} <= run.keys(), run
    assert 0 < run["processed_rows"] <= run["rows"] == 300, run
    assert run["rows_per_s"] >= 0 and run["jobs"] == 2, run
    if not run["finished"]:  # stopped at --pricediff-max-seconds: the projection for the whole file is given
        assert "projected_s" in run, run
    assert measurements["api_list_x2"]["ports"] == 2
    # Every timed figure says how loaded the machine was around it, and whether something else was busy.
    for name, figures in measurements.items():
        assert {"load_before", "load_after", "others_cpu", "busy"} <= figures.keys(), (name, figures)
        assert 0 <= figures["others_cpu"] <= 1 and figures["busy"] == (figures["others_cpu"] > 0.25), figures

    # The table: a header and one row per measurement, each saying whether its target was met.
    table = "\n".join(lines[:-1])
    assert "p50 ms" in table and "met?" in table and "load" in table and "BUSY: other processes" in table
    for name in MEASUREMENTS:
        assert f"\n{name} " in table
    for name in PLANS:
        plan = (plans / f"{name}.txt").read_text()
        assert "Execution Time" in plan and measurements[name]["plan"], name
