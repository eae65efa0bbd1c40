"""Fixtures for tests against a real Neo4j server.

The tests empty the database they use before each test, so they never use a developer's:

* by default they start a server of their own with ``scripts/neo4j-local`` as the instance
  ``tests`` (``KG_NEO4J_INSTANCE=tests``: its own home and database under
  ``$KG_CACHE/neo4j/instances/tests``, next to the developer's ``home/``), and stop it at the end;
* ``KG_TEST_NEO4J_URI`` (with ``KG_TEST_NEO4J_USER``, ``KG_TEST_NEO4J_PASSWORD``,
  ``KG_TEST_NEO4J_DATABASE``) points them at another server instead. Its database must be empty
  when the session starts (the tests refuse one that holds anything), and they leave it empty.

``NEO4J_URI`` and the other ``NEO4J_*`` settings of the developer's shell (the ones ``kg load``
reads) are removed from the environment of the test process when this module is imported, so
no test, command or subprocess can reach the developer's database by accident. When no server can
be had the tests fail with the reason; they are never skipped.
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
#: The scripts/neo4j-local instance the tests start: a database of their own.
TEST_INSTANCE = "tests"

for _name in [k for k in os.environ if k.startswith("NEO4J_")]:
    del os.environ[_name]
os.environ["KG_NEO4J_INSTANCE"] = TEST_INSTANCE  # what `kg load --bulk` and scripts/neo4j-local see


def _node_count(cfg: Neo4jConfig) -> int:
    driver = connect(cfg)
    try:
        return int(driver.execute_query("MATCH (n) RETURN count(n) AS c", database_=cfg.database).records[0]["c"])
    finally:
        driver.close()


def empty_database(cfg: Neo4jConfig) -> None:
    """Delete every node and relationship, in batches (the database is the tests' own)."""
    driver = connect(cfg)
    try:
        while driver.execute_query("MATCH (n) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS c",
                                   database_=cfg.database).records[0]["c"]:
            pass
    finally:
        driver.close()


def local_script(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run scripts/neo4j-local on the tests' instance."""
    env = {**os.environ, "KG_NEO4J_INSTANCE": TEST_INSTANCE}
    return subprocess.run([str(SCRIPT), *args], check=False, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def neo4j_config() -> Iterator[Neo4jConfig]:
    """A Neo4j 5.26 whose database the tests may empty: their own (scripts/neo4j-local, instance
    ``tests``), or the empty one named by KG_TEST_NEO4J_URI."""
    if os.environ.get("KG_TEST_NEO4J_URI"):
        cfg = Neo4jConfig.from_env(
            uri=os.environ["KG_TEST_NEO4J_URI"],
            user=os.environ.get("KG_TEST_NEO4J_USER") or "neo4j",
            password=os.environ.get("KG_TEST_NEO4J_PASSWORD", ""),
            database=os.environ.get("KG_TEST_NEO4J_DATABASE") or "neo4j",
        )
        held = _node_count(cfg)
        if held:
            pytest.fail(f"the database {cfg.database!r} at {cfg.uri} (KG_TEST_NEO4J_URI) holds {held} nodes; the "
                        "tests empty the database they use, so they need an empty one", pytrace=False)
        try:
            yield cfg
        finally:
            empty_database(cfg)
        return
    started = local_script("start")
    if started.returncode != 0:
        pytest.fail(
            "could not start the tests' Neo4j with KG_NEO4J_INSTANCE=tests scripts/neo4j-local start "
            "(set KG_TEST_NEO4J_URI to use another server):\n" + started.stderr[-3000:],
            pytrace=False,
        )
    cfg = Neo4jConfig.from_env_file(Path(local_script("envfile").stdout.strip()))
    try:
        yield cfg
    finally:
        try:
            empty_database(cfg)
        finally:
            local_script("stop", timeout=120)


@pytest.fixture()
def neo4j_db(neo4j_config: Neo4jConfig) -> Iterator[Neo4jConfig]:
    """The tests' server with an empty database (every node and relationship deleted before the test)."""
    empty_database(neo4j_config)
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


__all__ = ["TEST_INSTANCE", "KillableProxy", "empty_database", "local_script", "neo4j_config", "neo4j_db"]
