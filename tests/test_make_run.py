"""`make run` on the embedded default really starts the desk: web answers, worker is ready."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


@pytest.mark.slow
def test_make_run_serves_health_and_login_and_starts_the_worker(tmp_path):
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}},
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.sqlite3'}",
        "AFTERSALES_VAR_DIR": str(tmp_path / "var"),
    }
    log = open(tmp_path / "make-run.log", "w")
    process = subprocess.Popen(
        ["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 180
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.5)
        output = (tmp_path / "make-run.log").read_text()
        assert health is not None, f"make run did not answer /healthz:\n{output[-3000:]}"
        status, body = health
        assert status == 200 and '"database": "ok"' in body and "filesystem" in body
        status, page = _get(f"http://127.0.0.1:{port}/accounts/login/")
        assert status == 200 and 'name="password"' in page
        # The demo logins are printed for the person who ran it.
        assert "agent-demo-2026" in output and "supervisor" in output
        worker_log = tmp_path / "var" / "celery" / "worker.log"
        while time.monotonic() < deadline and "ready" not in (worker_log.read_text() if worker_log.exists() else ""):
            time.sleep(0.5)
        assert "ready" in worker_log.read_text(), worker_log.read_text()[-2000:]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
