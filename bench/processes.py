"""A server the bench starts and stops: gunicorn (ours or the peer's), a Celery worker."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bench import http_load


class ServiceProcess:
    """`command` in its own session, its output in `log_path`; started when `ready()` says so (within 60 s),
    else stopped with its log's tail in the error. `stop()`: SIGTERM (graceful), SIGKILL after 30 s."""

    def __init__(self, name: str, command: list[str], *, cwd: Path, env: dict, log_path: Path,
                 ready: Callable[[ServiceProcess], bool]):
        self.name, self.log_path = name, log_path
        self.log = open(log_path, "w")  # closed in stop()
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited ({self.process.returncode}): {self.tail()}")
            if ready(self):
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{name} was not ready within 60 s: {self.tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the processes of its session (the server and the workers
        it started, alive now)."""
        return cpu_seconds(lambda fields, _command: int(fields[3]) == self.process.pid)

    def tail(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def answers(port: int, path: str) -> Callable[[ServiceProcess], bool]:
    """Ready when GET `path` on `port` answers 200."""

    def ready(_service: ServiceProcess) -> bool:
        client = http_load.Client(port)
        try:
            status, _ = client.request("GET", path)
            return status == 200
        except OSError:
            return False
        finally:
            client.close()

    return ready


def gunicorn(name: str, executable: Path, app: str, *, workers: int, timeout: int, cwd: Path, env: dict,
             log_dir: Path, ready_path: str, extra: tuple[str, ...] = ()) -> tuple[ServiceProcess, int]:
    """gunicorn serving `app` on a free loopback port: (the process, its port)."""
    from bench.api import free_port

    port = free_port()
    service = ServiceProcess(
        name, [str(executable), app, *extra, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout",
               str(timeout), "--log-level", "warning"],
        cwd=cwd, env=env, log_path=log_dir / f"gunicorn-{port}.log", ready=answers(port, ready_path))
    return service, port


def cpu_seconds(wanted: Callable[[list[str], str], bool]) -> float:
    """User + system CPU seconds of the live processes `wanted(stat fields after the name, command line)` picks
    (/proc; the fields from the state on: 3 is the session, 11 and 12 utime and stime)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if wanted(fields, command):
            total += int(fields[11]) + int(fields[12])
    return total / tick
