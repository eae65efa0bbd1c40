"""Load test of ``kg serve``: N concurrent clients for T seconds against an endpoint on loopback.

Either drives a server that is already running (``--url``, with ``--pid`` to report its memory)
or starts ``kg serve GRAPH`` on a free loopback port and stops it at the end. Each client sends
the queries below in turn over its own keep-alive connection (``--fresh-connections``: a new
connection per request, which exercises the accept loop and the listen backlog). Reports
requests/s, p50/p95/max latency, failed requests (any status but 200, or a connection error),
how many of those timed out (no answer within ``--timeout`` seconds), and the peak resident
memory of the server process alone and with its query workers (sampled every 0.1 s).

With ``--slow-sockets N`` the load runs while N other sockets hold connections the slow way
(slowloris): each sends a request line, then one header line every ``--slow-interval`` seconds
(10), never finishing its request; a socket the server closes is opened again at once. The
summary says how often that happened.

Bounded: at most 200 clients, 1000 slow sockets and 600 seconds, and only 127.0.0.1 / ::1 /
localhost are targeted.

    .venv/bin/python bench/load_serve.py out                      # starts kg serve out
    .venv/bin/python bench/load_serve.py out --clients 200 --seconds 30
    .venv/bin/python bench/load_serve.py --url http://127.0.0.1:7878/sparql --pid 1234
    .venv/bin/python bench/load_serve.py out --clients 20 --seconds 30 --json
    .venv/bin/python bench/load_serve.py out --clients 5 --seconds 60 --slow-sockets 300
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
MAX_CLIENTS = 200
MAX_SLOW_SOCKETS = 1000
MAX_SECONDS = 600.0
LOOPBACK = {"127.0.0.1", "::1", "localhost"}

QUERIES: list[str] = [
    "SELECT ?p ?name WHERE { ?p a dip:Official ; rdfs:label ?name } ORDER BY ?name",
    "SELECT ?c (COUNT(?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c ORDER BY ?c",
    "ASK { ?m a dip:Meeting }",
    "SELECT ?m ?a ?b WHERE { ?m dip:participant ?a , ?b FILTER(STR(?a) < STR(?b)) } LIMIT 50",
    (ROOT / "queries" / "meetings.rq").read_text(encoding="utf-8"),
    (ROOT / "queries" / "posts.rq").read_text(encoding="utf-8"),
]


@dataclass
class LoadResult:
    clients: int
    seconds: float
    requests: int = 0
    failed: int = 0
    timed_out: int = 0  # of the failed: no answer within the client's timeout
    requests_per_second: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    slow_sockets: int = 0  # sockets trickling their headers meanwhile
    slow_reopened: int = 0  # how often the server closed one of them (it was opened again)
    peak_rss_mb: float | None = None  # the server process and its query workers
    server_rss_mb: float | None = None  # the server process alone (HTTP threads, no workers)
    errors: list[str] = field(default_factory=list)  # the first few failures, for reading

    def summary(self) -> str:
        if self.peak_rss_mb is not None:
            rss = f"{self.server_rss_mb:.0f} MB (with query workers {self.peak_rss_mb:.0f} MB)"
        else:
            rss = "n/a (no --pid)"
        slow = (f" (with {self.slow_sockets} slow sockets open, closed by the server and reopened "
                f"{self.slow_reopened} times)" if self.slow_sockets else "")
        return (f"{self.clients} clients{slow}, {self.seconds:.1f} s: {self.requests} requests, "
                f"{self.requests_per_second:.1f} req/s, p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, "
                f"max {self.max_ms:.1f} ms, {self.failed} failed ({self.timed_out} timed out); "
                f"server peak RSS {rss}")


def check_loopback(url: str) -> tuple[str, int, str]:
    """(host, port, path) of ``url``; refuses anything but http on a loopback address."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK or parts.port is None:
        raise SystemExit(f"load_serve: only http://127.0.0.1:PORT/… (loopback) is targeted, not {url!r}")
    return parts.hostname, parts.port, parts.path or "/sparql"


def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` alone (Linux /proc), in kB; 0 when it is gone."""
    try:
        m = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    except OSError:
        return 0
    return int(m.group(1)) if m else 0


def tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (Linux /proc), in kB."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            m = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{p}/status").read_text(), re.MULTILINE)
        except OSError:
            continue
        total += int(m.group(1)) if m else 0
        todo.extend(children.get(p, []))
    return total


def run_load(url: str, clients: int = 20, seconds: float = 30.0, pid: int | None = None,
             timeout: float = 10.0, fresh_connections: bool = False) -> LoadResult:
    """Drive ``url`` with ``clients`` threads for ``seconds``; see the module docstring."""
    if not 1 <= clients <= MAX_CLIENTS:
        raise SystemExit(f"load_serve: --clients must be 1..{MAX_CLIENTS}")
    if not 0 < seconds <= MAX_SECONDS:
        raise SystemExit(f"load_serve: --seconds must be in (0, {MAX_SECONDS:g}]")
    host, port, path = check_loopback(url)
    latencies: list[float] = []
    errors: list[str] = []
    failed = timed_out = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    peak = [0, 0]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set() and pid is not None:
            peak[0] = max(peak[0], tree_rss_kb(pid))
            peak[1] = max(peak[1], rss_kb(pid))
            sampling.wait(0.1)

    def client(k: int) -> None:
        nonlocal failed, timed_out
        conn = HTTPConnection(host, port, timeout=timeout)
        i = k
        while time.monotonic() < stop_at:
            q = QUERIES[i % len(QUERIES)]
            i += 1
            t0 = time.perf_counter()
            try:
                conn.request("GET", f"{path}?{urlencode({'query': q})}", headers={"Accept": "text/csv"})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
                err = f"HTTP {resp.status}"
                late = False
                if fresh_connections:
                    conn.close()
            except Exception as exc:  # a refused or dropped connection, a malformed answer
                ok, err = False, f"{type(exc).__name__}: {exc}"
                late = isinstance(exc, TimeoutError)
                conn.close()
                conn = HTTPConnection(host, port, timeout=timeout)
            dt = time.perf_counter() - t0
            with lock:
                if ok:
                    latencies.append(dt)
                else:
                    failed += 1
                    timed_out += late
                    if len(errors) < 5:
                        errors.append(err)
        conn.close()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout + 5)
    elapsed = time.monotonic() - t0
    sampling.set()
    sampler.join(2)
    res = LoadResult(clients, elapsed, requests=len(latencies) + failed, failed=failed, timed_out=timed_out,
                     errors=errors)
    if latencies:
        ms = sorted(x * 1000 for x in latencies)
        res.requests_per_second = len(latencies) / elapsed
        res.p50_ms = statistics.median(ms)
        res.p95_ms = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
        res.max_ms = ms[-1]
    if pid is not None:
        res.peak_rss_mb = peak[0] / 1024
        res.server_rss_mb = peak[1] / 1024
    return res


class SlowSockets:
    """``n`` connections to ``url`` that each send a request line, then one header line every
    ``interval`` seconds, and never finish their request (slowloris). A connection the server
    closes (or answers) is opened again at once; :attr:`reopened` counts them. Use as a context
    manager: all are open when ``with`` starts, all are closed when it ends."""

    def __init__(self, url: str, n: int, interval: float = 10.0) -> None:
        if not 0 <= n <= MAX_SLOW_SOCKETS:
            raise SystemExit(f"load_serve: --slow-sockets must be 0..{MAX_SLOW_SOCKETS}")
        if interval < 0.1:
            raise SystemExit("load_serve: --slow-interval must be at least 0.1 s")
        self.host, self.port, self.path = check_loopback(url)
        self.n, self.interval = n, interval
        self.reopened = 0
        self._socks: list[socket.socket | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _open(self) -> socket.socket | None:
        try:
            s = socket.create_connection((self.host, self.port), timeout=5)
            s.sendall(f"GET {self.path}?query=ASK%7B%7D HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n".encode())
            s.setblocking(False)
            return s
        except OSError:
            return None

    def _run(self) -> None:
        next_line = time.monotonic() + self.interval
        k = 0
        while not self._stop.wait(0.2):
            send = time.monotonic() >= next_line
            if send:
                next_line += self.interval
                k += 1
            for i, s in enumerate(self._socks):
                alive = s is not None
                if s is not None:
                    try:
                        s.recv(1)  # an answer or the end of the stream: the server let go
                        alive = False
                    except BlockingIOError:  # nothing to read: still held open
                        alive = True
                    except OSError:
                        alive = False
                    if alive and send:
                        try:
                            s.send(f"X-Slow-{k}: {k}\r\n".encode())
                        except OSError:
                            alive = False
                if not alive:
                    if s is not None:
                        s.close()
                        self.reopened += 1
                    self._socks[i] = self._open()

    def __enter__(self) -> SlowSockets:
        self._socks = [self._open() for _ in range(self.n)]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        for s in self._socks:
            if s is not None:
                s.close()


class Server:
    """``kg serve GRAPH`` on a free loopback port, as a subprocess (stopped with SIGTERM)."""

    def __init__(self, graph: str | Path, workers: int = 2, extra: list[str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kg.cli", "serve", str(graph), "--host", "127.0.0.1", "--port", "0",
             "--workers", str(workers), *(extra or [])],
            stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        m = re.search(r"at (http://127\.0\.0\.1:\d+/sparql)", line)
        if not m:
            self.proc.kill()
            raise SystemExit(f"load_serve: kg serve did not start: {line}{self.proc.stderr.read()[-2000:]}")
        self.url = m.group(1)
        self.pid = self.proc.pid
        # keep reading the request log so the server never blocks on a full pipe
        self._drain = threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True)  # type: ignore[union-attr]
        self._drain.start()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("graph", nargs="?", help="build directory or RDF file to serve (starts kg serve)")
    ap.add_argument("--url", help="a running endpoint on loopback, e.g. http://127.0.0.1:7878/sparql")
    ap.add_argument("--pid", type=int, help="process id of that running server (for its memory)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2, help="--workers of the kg serve started here")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds a request may take before it counts as timed out")
    ap.add_argument("--fresh-connections", action="store_true", help="a new connection for every request")
    ap.add_argument("--slow-sockets", type=int, default=0,
                    help=f"sockets that trickle their headers meanwhile (at most {MAX_SLOW_SOCKETS})")
    ap.add_argument("--slow-interval", type=float, default=10.0, help="seconds between their header lines")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)
    if (args.graph is None) == (args.url is None):
        ap.error("give either GRAPH (to start kg serve) or --url of a running server")

    def load(url: str, pid: int | None) -> LoadResult:
        with SlowSockets(url, args.slow_sockets, args.slow_interval) as slow:
            res = run_load(url, args.clients, args.seconds, pid, args.timeout, args.fresh_connections)
        res.slow_sockets, res.slow_reopened = args.slow_sockets, slow.reopened
        return res

    if args.url:
        res = load(args.url, args.pid)
    else:
        with Server(args.graph, workers=args.workers, extra=["--quiet"]) as server:
            res = load(server.url, server.pid)
    print(json.dumps(asdict(res), indent=1) if args.json else res.summary())
    for e in res.errors:
        print(f"  failure: {e}", file=sys.stderr)
    return 0 if res.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
