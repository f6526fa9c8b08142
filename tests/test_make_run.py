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
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.sqlite3'}",
        "AFTERSALES_VAR_DIR": str(tmp_path / "var"),
    }
    log = open(tmp_path / "make-run.log", "w")
    pidfile = tmp_path / "var" / "celery" / "worker.pid"
    worker_pid = None
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
        worker_pid = int(pidfile.read_text())
    finally:
        _stop(process)
        log.close()
        _assert_worker_stopped(pidfile, worker_pid)


def _assert_worker_stopped(pidfile: Path, pid: int | None) -> None:
    """Stopping `make run` stops the worker too: its process is gone within the kill timeout."""
    if pid is None:
        return  # it never got as far as starting a worker; the assertions above already failed
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    pytest.fail("the Celery worker outlived `make run`")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the whole group (make, the script, runserver), SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
