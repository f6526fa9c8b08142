"""A small stdlib load client for the benches: loopback HTTP, bounded in requests and in time.

- `Client`: one keep-alive connection (http.client) with a cookie jar and default headers. gunicorn's
  sync workers answer `Connection: close`, so the client reconnects transparently when told to.
- `latency(...)`: one client, requests one after the other (after a few warm-up requests that are
  not counted), bounded by `requests` and `max_seconds`; median, p95 and how many were answered.
- `throughput(...)`: `concurrency` threads, each with its own client, sending as fast as they are
  answered for `seconds` (or `max_requests` in all); requests/s, median, p95 and the statuses.
  With several ports, each thread takes the ports in turn (the "two instances" figure).

Nothing here imports Django: the suite (bench/suite.py) passes paths, headers and bodies.
"""

from __future__ import annotations

import http.client
import math
import re
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

HOST = "127.0.0.1"
TIMEOUT_SECONDS = 60


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 20 samples is the 19th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class HTTPError(RuntimeError):
    pass


@dataclass
class Client:
    port: int
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    connects: int = 0

    def __post_init__(self):
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT_SECONDS)
            self.connects += 1
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        merged = {**self.headers, **(headers or {})}
        if self.cookies:
            merged["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=merged)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed a kept-alive connection between two requests: reconnect once.
                self.close()
                if attempt == 2:
                    raise
                continue
            for header in response.msg.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    self.cookies[name] = morsel.value
            if response.will_close:
                self.close()
            return response.status, data
        raise AssertionError("unreachable")


def login(port: int, username: str, password: str, *, path: str = "/accounts/login/") -> Client:
    """A client holding a session cookie, logged in through the login form at `path` like a browser
    (bench/peer.py logs in to django-helpdesk at /login/)."""
    client = Client(port)
    status, page = client.request("GET", path)
    if status != 200:
        raise HTTPError(f"GET {path} answered {status}")
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not found:
        raise HTTPError("no CSRF token on the login page")
    body = urlencode({"username": username, "password": password,
                      "csrfmiddlewaretoken": found.group(1).decode()}).encode()
    status, _ = client.request("POST", path, body=body,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    if status != 302 or "sessionid" not in client.cookies:
        raise HTTPError(f"login of {username!r} failed (status {status})")
    return client


def _summary(timings: list[float], elapsed: float, statuses: dict[int, int], **extra) -> dict:
    ok = [t for t in timings if t is not None]
    return {
        "requests": len(ok),
        "p50_ms": round(statistics.median(ok), 2) if ok else None,
        "p95_ms": round(percentile(ok, 0.95), 2) if ok else None,
        "seconds": round(elapsed, 2),
        "per_s": round(len(ok) / elapsed, 1) if elapsed else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        **extra,
    }


def latency(client: Client, path: str, *, requests: int, max_seconds: float, warmup: int = 5,
            expect: int = 200, method: str = "GET") -> dict:
    """Sequential requests of one path; the first `warmup` are not counted (nor more than a quarter of
    the time bound spent on them)."""
    warm_until = time.perf_counter() + max_seconds / 4
    for i in range(warmup):
        if i and time.perf_counter() > warm_until:
            break
        status, body = client.request(method, path)
        if status != expect:
            raise HTTPError(f"{method} {path} answered {status}: {body[:300]!r}")
    timings: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    deadline = started + max_seconds
    size = 0
    while len(timings) < requests and time.perf_counter() < deadline:
        begin = time.perf_counter()
        status, body = client.request(method, path)
        timings.append((time.perf_counter() - begin) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if status != expect:
            raise HTTPError(f"{method} {path} answered {status}: {body[:300]!r}")
        size = len(body)
    return _summary(timings, time.perf_counter() - started, statuses, bytes=size)


def throughput(ports: Sequence[int], make_request: Callable[[int, int], tuple[str, str, bytes | None, dict]], *,
               concurrency: int, seconds: float, max_requests: int, headers: dict[str, str] | None = None,
               warmup: int = 2, ok_statuses: Sequence[int] = (200,)) -> dict:
    """`concurrency` threads send `make_request(thread, n) -> (method, path, body, headers)` until
    `seconds` have passed or `max_requests` were sent in all. Each thread keeps one client per port
    and takes the ports in turn, so two instances share the load evenly."""
    barrier = threading.Barrier(concurrency + 1)
    lock = threading.Lock()
    budget = {"left": max_requests}
    results: list[dict] = [{} for _ in range(concurrency)]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        clients = [Client(port, headers=dict(headers or {})) for port in ports]
        timings: list[float] = []
        statuses: dict[int, int] = {}
        n = 0
        try:
            for i in range(warmup):
                method, path, body, extra = make_request(index, -1 - i)
                clients[i % len(clients)].request(method, path, body=body, headers=extra)
        except BaseException as error:
            errors.append(error)
        barrier.wait()
        deadline = time.perf_counter() + seconds
        try:
            while time.perf_counter() < deadline:
                with lock:
                    if budget["left"] <= 0:
                        break
                    budget["left"] -= 1
                method, path, body, extra = make_request(index, n)
                client = clients[n % len(clients)]
                n += 1
                begin = time.perf_counter()
                status, _ = client.request(method, path, body=body, headers=extra)
                timings.append((time.perf_counter() - begin) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        except BaseException as error:
            errors.append(error)
        finally:
            for client in clients:
                client.close()
            results[index] = {"timings": timings, "statuses": statuses}

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise HTTPError(f"load client failed: {errors[0]!r}")
    statuses: dict[int, int] = {}
    timings: list[float] = []
    for result in results:
        timings += result["timings"]
        for status, count in result["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    good = sum(count for status, count in statuses.items() if status in ok_statuses)
    return _summary(timings, elapsed, statuses, concurrency=concurrency, ports=len(ports), ok=good,
                    ok_per_s=round(good / elapsed, 1) if elapsed else None)
