"""Fixtures for tests against a real Neo4j server.

``neo4j_config`` uses NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD (/ NEO4J_DATABASE) when set;
otherwise it starts the server of ``scripts/neo4j-local`` for the session and stops it at the
end. When no server can be had the tests fail with the reason; they are never skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.readers.neo4j import Neo4jConfig, connect

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "neo4j-local"


@pytest.fixture(scope="session")
def neo4j_config() -> Iterator[Neo4jConfig]:
    """A reachable Neo4j 5.26: from the environment, or started with scripts/neo4j-local."""
    if os.environ.get("NEO4J_URI"):
        cfg = Neo4jConfig.from_env()
        connect(cfg).close()
        yield cfg
        return
    started = subprocess.run([str(SCRIPT), "start"], check=False, capture_output=True, text=True, timeout=900)
    if started.returncode != 0:
        pytest.fail(
            "could not start Neo4j with scripts/neo4j-local start (set NEO4J_URI to use another server):\n"
            + started.stderr[-3000:],
            pytest_trace=False,
        )
    envfile = subprocess.run([str(SCRIPT), "envfile"], capture_output=True, text=True, check=True).stdout.strip()
    cfg = Neo4jConfig.from_env_file(Path(envfile))
    try:
        yield cfg
    finally:
        subprocess.run([str(SCRIPT), "stop"], check=False, capture_output=True, text=True, timeout=120)


@pytest.fixture()
def neo4j_db(neo4j_config: Neo4jConfig) -> Iterator[Neo4jConfig]:
    """The server with an empty database (every node and relationship deleted before the test)."""
    driver = connect(neo4j_config)
    try:
        driver.execute_query("MATCH (n) DETACH DELETE n", database_=neo4j_config.database)
    finally:
        driver.close()
    yield neo4j_config


class KillableProxy:
    """A TCP relay to the real server that can drop every connection, to simulate a network fault.

    After ``kill()`` open connections are closed and new ones are refused until ``revive()``.
    ``kill_after_bytes`` drops everything once that many bytes went from client to server.
    """

    def __init__(self, target_host: str, target_port: int, kill_after_bytes: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.kill_after_bytes = kill_after_bytes
        self.sent = 0
        self.killed = threading.Event()
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.killed.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data or self.killed.is_set():
                    break
                if upstream:
                    self.sent += len(data)
                    if self.kill_after_bytes is not None and self.sent > self.kill_after_bytes:
                        self.kill()
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def kill(self) -> None:
        """Drop every open connection and refuse new ones."""
        self.killed.set()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def revive(self) -> None:
        """Accept connections again."""
        self.kill_after_bytes = None
        self.killed.clear()

    def close(self) -> None:
        self._stop = True
        self.kill()
        self._server.close()


__all__ = ["KillableProxy", "neo4j_config", "neo4j_db"]
