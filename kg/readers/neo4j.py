"""Write the validated RDF graph into Neo4j over Bolt.

The property graph is derived by :mod:`kg.readers.projection` (same IRIs, labels and relationship
types from the ontology's allow-list). Writes are parameterised ``UNWIND $rows ... MERGE``
statements in managed transactions (the driver retries transient failures). Documents are
loaded in batches of whole articles: one transaction removes what the batch's documents
supported before and writes what they support now, so a re-extracted article replaces its
statements and a dropped connection never leaves half an article behind. Loading the same
graph twice gives the same nodes and relationships.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rdflib import Graph

import neo4j
from kg.errors import Neo4jError
from kg.readers.projection import (
    NodeRow,
    Projection,
    ProjectionRule,
    RelRow,
    check_allowed,
    default_rule,
    project,
)
from kg.readers.store import open_build
from neo4j import GraphDatabase, ManagedTransaction
from neo4j import exceptions as nex

SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
_USERINFO = re.compile(r"://.*@")


def redact_uri(uri: str) -> str:
    """``uri`` with any ``user:password@`` part hidden, for messages and reports."""
    return _USERINFO.sub("://***@", uri)
_KEY_CYPHER = "type(r) + '\u241f' + startNode(r).iri + '\u241f' + endNode(r).iri + '\u241f' + coalesce(r.iri, '')"


@dataclass(frozen=True)
class Neo4jConfig:
    """Where and as whom to connect. The password never appears in repr, errors or logs."""

    uri: str = "bolt://localhost:7687"
    user: str = "neo4j"
    password: str = field(default="", repr=False)
    database: str = "neo4j"
    max_retry_time: float = 30.0  # seconds the driver keeps retrying a failed transaction
    connection_timeout: float = 10.0

    @classmethod
    def from_env_file(cls, path: Path) -> Neo4jConfig:
        """The settings of an ``export NAME=value`` file, such as the one ``scripts/neo4j-local envfile``
        names (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE)."""
        env: dict[str, str] = {}
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line.startswith("export "):
                key, _, value = line[len("export "):].partition("=")
                env[key] = shlex.split(value)[0] if value else ""
        return cls(uri=env["NEO4J_URI"], user=env["NEO4J_USER"], password=env["NEO4J_PASSWORD"],
                   database=env["NEO4J_DATABASE"])

    @classmethod
    def from_env(
        cls,
        uri: str | None = None,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
    ) -> Neo4jConfig:
        """Options win over NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE, then defaults."""
        cfg = cls(
            uri=uri or os.environ.get("NEO4J_URI") or cls.uri,
            user=user or os.environ.get("NEO4J_USER") or cls.user,
            password=password if password is not None else os.environ.get("NEO4J_PASSWORD", ""),
            database=database or os.environ.get("NEO4J_DATABASE") or cls.database,
        )
        cfg.check()
        return cfg

    def check(self) -> None:
        """Refuse a URI the driver cannot use, before connecting (the message never shows a password)."""
        shown = redact_uri(self.uri)
        try:
            parts = urlsplit(self.uri)
            host = parts.hostname
        except ValueError as exc:
            raise Neo4jError(f"bad Neo4j URI {shown!r}: {exc}") from None
        if parts.scheme not in SCHEMES:
            raise Neo4jError(
                f"bad Neo4j URI {shown!r}: the scheme must be one of {', '.join(s + '://' for s in SCHEMES)}"
            )
        if "@" in parts.netloc:
            raise Neo4jError(
                f"bad Neo4j URI {shown!r}: give the user and password with NEO4J_USER and NEO4J_PASSWORD "
                "(or --user/--password), not in the URI"
            )
        if not host:
            raise Neo4jError(f"bad Neo4j URI {shown!r}: no host")


@dataclass
class LoadReport:
    """What a load wrote and how long it took."""

    uri: str
    database: str
    documents: int = 0
    nodes: int = 0
    relationships: int = 0
    transactions: int = 0
    replaced: int = 0  # documents that were already loaded: their earlier statements were replaced
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the command line."""
        return (
            f"loaded {self.nodes} nodes and {self.relationships} relationships from {self.documents} "
            f"document(s) into {self.uri} (database {self.database}) in {self.transactions} "
            f"transaction(s), {self.seconds:.2f}s"
            + (f"; {self.replaced} of the documents were already loaded and their statements replaced"
               if self.replaced else "")
        )


def _driver(config: Neo4jConfig) -> neo4j.Driver:
    config.check()
    try:
        return GraphDatabase.driver(
            config.uri,
            auth=(config.user, config.password),
            max_transaction_retry_time=config.max_retry_time,
            connection_timeout=config.connection_timeout,
            connection_acquisition_timeout=config.connection_timeout + 5,
        )
    except (nex.ConfigurationError, ValueError) as exc:
        msg = str(exc).replace(config.uri, redact_uri(config.uri))
        if config.password:
            msg = msg.replace(config.password, "***")
        raise Neo4jError(f"bad Neo4j URI {redact_uri(config.uri)!r}: {msg}") from None


def _connection_error(exc: Exception, config: Neo4jConfig) -> Neo4jError:
    """A one-line message saying what went wrong and what to check; never the password."""
    where = f"Neo4j at {redact_uri(config.uri)}"
    if isinstance(exc, nex.AuthError):
        return Neo4jError(f"{where} refused the credentials of user {config.user!r} (check NEO4J_USER/NEO4J_PASSWORD)")
    if isinstance(exc, nex.ClientError) and "DatabaseNotFound" in (exc.code or ""):
        return Neo4jError(
            f"{where} has no database {config.database!r} (check NEO4J_DATABASE; Community has only 'neo4j')"
        )
    if isinstance(exc, nex.ServiceUnavailable | nex.SessionExpired | OSError):
        return Neo4jError(
            f"cannot reach {where} ({type(exc).__name__}); is the server running? "
            "(scripts/neo4j-local start, or docker compose up -d)"
        )
    msg = str(getattr(exc, "message", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
    return Neo4jError(f"{where}: {msg.replace(config.password, '***') if config.password else msg}")


def connect(config: Neo4jConfig) -> neo4j.Driver:
    """Open a driver and check server, credentials and database before anything is written."""
    driver = _driver(config)
    try:
        driver.verify_connectivity()
        driver.execute_query("RETURN 1", database_=config.database)
    except Exception as exc:
        driver.close()
        raise _connection_error(exc, config) from None
    return driver


# ---- Cypher (labels and types are checked against the ontology's allow-list) -------------------


def _node_cypher(labels: tuple[str, ...], merge_label: str, remove: Iterable[str]) -> str:
    extra = "".join(f":`{lab}`" for lab in labels if lab != merge_label)
    rm = "".join(f":`{lab}`" for lab in sorted(remove))
    return (
        "UNWIND $rows AS row\n"
        f"MERGE (n:`{merge_label}` {{iri: row.iri}})\n"
        "WITH n, row, [s IN coalesce(n.sources, []) WHERE $loaded[s] IS NULL] AS kept\n"
        "SET n = row.props\n"
        "SET n.sources = kept + [s IN row.sources WHERE NOT s IN kept]\n"
        + (f"SET n{extra}\n" if extra else "")
        + (f"REMOVE n{rm}\n" if rm else "")
    )


def _rel_cypher(rel_type: str, start_label: str, end_label: str, keyed: bool) -> str:
    ident = " {iri: row.iri}" if keyed else ""
    return (
        "UNWIND $rows AS row\n"
        f"MATCH (a:`{start_label}` {{iri: row.start}})\n"
        f"MATCH (b:`{end_label}` {{iri: row.end}})\n"
        f"MERGE (a)-[r:`{rel_type}`{ident}]->(b)\n"
        "WITH r, row, [s IN coalesce(r.sources, []) WHERE $loaded[s] IS NULL] AS kept\n"
        "SET r = row.props\n"
        "SET r.sources = kept + [s IN row.sources WHERE NOT s IN kept]\n"
    )


_STALE_RELS = (
    "MATCH ()-[r]->() WHERE any(s IN r.sources WHERE $docs[s] IS NOT NULL)\n"
    f"WITH r, {_KEY_CYPHER} AS key\n"
    "WHERE $keep[key] IS NULL\n"
    "SET r.sources = [s IN r.sources WHERE $docs[s] IS NULL]\n"
    "WITH r WHERE size(r.sources) = 0\n"
    "DELETE r\n"
    "RETURN count(*) AS deleted"
)
#: The documents of a batch that are already in the database (their Document nodes, by the label's index).
_LOADED_DOCS = "UNWIND $docs AS d MATCH (n:`{label}` {{iri: d}}) RETURN collect(n.iri) AS docs"
_STALE_NODES = (
    "MATCH (n) WHERE any(s IN n.sources WHERE $docs[s] IS NOT NULL) AND $keep[n.iri] IS NULL\n"
    "SET n.sources = [s IN n.sources WHERE $docs[s] IS NULL]\n"
    "WITH n WHERE size(n.sources) = 0\n"
    "DETACH DELETE n\n"
    "RETURN count(*) AS deleted"
)


@dataclass
class _Batch:
    """The documents loaded in one transaction and the rows they bring."""

    docs: list[str] = field(default_factory=list)
    nodes: list[NodeRow] = field(default_factory=list)
    rels: list[RelRow] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.nodes) + len(self.rels)


def _batches(proj: Projection, batch_size: int) -> list[_Batch]:
    """Group whole documents into batches of about ``batch_size`` rows; rows supported by no
    document go into a last batch. Each row is written once, in the batch of its first document."""
    by_doc: dict[str, _Batch] = {d: _Batch([d]) for d in proj.documents}
    shared = _Batch()
    for n in proj.nodes.values():
        docs = [s for s in n.sources if s in by_doc]
        (by_doc[docs[0]] if docs else shared).nodes.append(n)
    for r in proj.rels.values():
        docs = [s for s in r.sources if s in by_doc]
        (by_doc[docs[0]] if docs else shared).rels.append(r)
    out: list[_Batch] = []
    cur = _Batch()
    for d in proj.documents:
        b = by_doc[d]
        if cur.docs and cur.size + b.size > batch_size:
            out.append(cur)
            cur = _Batch()
        cur.docs += b.docs
        cur.nodes += b.nodes
        cur.rels += b.rels
    if cur.docs:
        out.append(cur)
    if shared.size:
        out.append(shared)
    return out


class _Writer:
    """Builds and runs the parameterised statements of one load."""

    def __init__(self, proj: Projection, rule: ProjectionRule) -> None:
        self.proj = proj
        self.rule = rule
        self.loaded = dict.fromkeys(proj.documents, True)  # a map: membership is one lookup in Cypher
        self.all_labels = rule.allowed_labels

    def node_groups(self, rows: list[NodeRow]) -> list[tuple[str, list[dict[str, Any]]]]:
        groups: dict[tuple[tuple[str, ...], str], list[dict[str, Any]]] = defaultdict(list)
        for n in rows:
            groups[(n.labels, n.merge_label)].append({"iri": n.iri, "props": n.props, "sources": list(n.sources)})
        return [
            (_node_cypher(labels, merge, self.all_labels - set(labels)), rows_)
            for (labels, merge), rows_ in sorted(groups.items())
        ]

    def rel_groups(self, rows: list[RelRow]) -> list[tuple[str, list[dict[str, Any]]]]:
        groups: dict[tuple[str, str, str, bool], list[dict[str, Any]]] = defaultdict(list)
        nodes = self.proj.nodes
        for r in rows:
            key = (r.type, nodes[r.start].merge_label, nodes[r.end].merge_label, bool(r.iri))
            props = dict(r.props)
            if r.iri:
                props["iri"] = r.iri
            groups[key].append({"start": r.start, "end": r.end, "iri": r.iri, "props": props, "sources": list(r.sources)})
        return [(_rel_cypher(t, s, e, keyed), rows_) for (t, s, e, keyed), rows_ in sorted(groups.items())]

    def keep(self, docs: list[str]) -> tuple[dict[str, bool], dict[str, bool]]:
        """Node IRIs and relationship keys of the new graph that ``docs`` support."""
        ds = set(docs)
        nodes = {n.iri: True for n in self.proj.nodes.values() if ds.intersection(n.sources)}
        rels = {r.key: True for r in self.proj.rels.values() if ds.intersection(r.sources)}
        return nodes, rels

    def stale_work(self, batch: _Batch) -> Callable[[ManagedTransaction], list[str]]:
        """Remove what the batch's documents said before and do not say now; return those of them that
        were already in the database. A document never loaded has nothing to remove, so when none of
        the batch's documents is there (a first load), the two scans of the database are skipped."""
        keep_nodes, keep_rels = self.keep(batch.docs)
        present = _LOADED_DOCS.format(label=self.proj.nodes[batch.docs[0]].merge_label)

        def work(tx: ManagedTransaction) -> list[str]:
            rec = tx.run(present, {"docs": batch.docs}).single()
            there = sorted(rec["docs"]) if rec else []
            if there:
                docs = dict.fromkeys(there, True)
                tx.run(_STALE_RELS, {"docs": docs, "keep": keep_rels}).consume()
                tx.run(_STALE_NODES, {"docs": docs, "keep": keep_nodes}).consume()
            return there

        return work

    def batch_work(self, batch: _Batch) -> Callable[[ManagedTransaction], list[str]]:
        """The transaction function of one batch: remove stale statements, then nodes, then rels; it
        returns the batch's documents that were already loaded."""
        stale = self.stale_work(batch) if batch.docs else None
        statements = [(cypher, {"rows": rows, "loaded": self.loaded})
                      for cypher, rows in self.node_groups(batch.nodes) + self.rel_groups(batch.rels)]

        def work(tx: ManagedTransaction) -> list[str]:
            there = stale(tx) if stale is not None else []
            for cypher, params in statements:
                tx.run(cypher, params).consume()
            return there

        return work

    def row_works(self, batch: _Batch) -> list[Callable[[ManagedTransaction], Any]]:
        """The same writes, one transaction per row (for measuring what batching saves)."""
        works: list[Callable[[ManagedTransaction], Any]] = []
        if batch.docs:
            works.append(self.stale_work(batch))
        for cypher, rows in self.node_groups(batch.nodes) + self.rel_groups(batch.rels):
            for row in rows:
                works.append(_statements_work([(cypher, {"rows": [row], "loaded": self.loaded})]))
        return works


def _statements_work(statements: list[tuple[str, dict[str, Any]]]) -> Callable[[ManagedTransaction], None]:
    def work(tx: ManagedTransaction) -> None:
        for cypher, params in statements:
            tx.run(cypher, params).consume()

    return work


def ensure_constraints(driver: neo4j.Driver, config: Neo4jConfig, labels: Iterable[str], rule: ProjectionRule) -> None:
    """A uniqueness constraint on ``iri`` for every label used (created once; the existing ones are
    listed in one query, so a load that needs no new constraint costs one round trip here)."""
    wanted = sorted(set(labels))
    for lab in wanted:
        if lab not in rule.allowed_labels:
            raise Neo4jError(f"label {lab!r} is not in the ontology's allow-list")
    existing = {r["name"] for r in driver.execute_query("SHOW CONSTRAINTS YIELD name",
                                                        database_=config.database).records}
    for lab in wanted:
        if f"kg_{lab}_iri" in existing:
            continue
        driver.execute_query(
            f"CREATE CONSTRAINT `kg_{lab}_iri` IF NOT EXISTS FOR (n:`{lab}`) REQUIRE n.iri IS UNIQUE",
            database_=config.database,
        )


def wipe(driver: neo4j.Driver, config: Neo4jConfig, rule: ProjectionRule) -> int:
    """Delete every node that carries a label of the ontology, with its relationships."""
    cond = " OR ".join(f"n:`{lab}`" for lab in sorted(rule.allowed_labels))
    deleted = 0
    with driver.session(database=config.database) as session:
        while True:
            rec = session.execute_write(
                lambda tx: tx.run(
                    f"MATCH (n) WHERE {cond} WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS c"
                ).single()
            )
            c = rec["c"] if rec else 0
            deleted += c
            if c == 0:
                return deleted


@contextlib.contextmanager
def _stop_between_batches() -> Iterator[Callable[[], None]]:
    """Hold SIGINT/SIGTERM back while a transaction is in flight; the check raises KeyboardInterrupt.

    A KeyboardInterrupt raised inside the driver's socket code leaves the connection in a state
    where closing it fails with an unrelated error; instead the transaction in flight commits
    (whole articles) and the load stops before the next one. A second signal stops at once.
    Outside the main thread (where Python handlers cannot be set) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    got: list[int] = []

    def hold(signum: int, _frame: object) -> None:
        if got:
            raise KeyboardInterrupt
        got.append(signum)

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}

    def check() -> None:
        if got:
            raise KeyboardInterrupt

    try:
        yield check
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def load_projection(
    proj: Projection,
    config: Neo4jConfig,
    *,
    rule: ProjectionRule | None = None,
    wipe_first: bool = False,
    batch_size: int = 5000,
    progress: bool = False,
    transaction_per_row: bool = False,
    driver: neo4j.Driver | None = None,
) -> LoadReport:
    """Write a projection; see :func:`load_graph`."""
    rule = rule or default_rule()
    check_allowed(proj, rule)
    if batch_size < 1:
        raise Neo4jError(f"batch size must be at least 1, not {batch_size}")
    report = LoadReport(redact_uri(config.uri), config.database, len(proj.documents), len(proj.nodes), len(proj.rels))
    report.skipped = list(proj.skipped)
    own = driver is None
    drv = connect(config) if driver is None else driver
    t0 = time.perf_counter()
    done = 0
    batches = _batches(proj, batch_size)
    try:
        if wipe_first:
            wipe(drv, config, rule)
        ensure_constraints(drv, config, {lab for n in proj.nodes.values() for lab in n.labels}, rule)
        writer = _Writer(proj, rule)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(batches), unit="batch", desc="neo4j", leave=False)
        with drv.session(database=config.database) as session, _stop_between_batches() as check_stop:
            for batch in batches:
                check_stop()
                works = writer.row_works(batch) if transaction_per_row else [writer.batch_work(batch)]
                for i, work in enumerate(works):
                    there = session.execute_write(work)
                    if i == 0 and batch.docs:
                        report.replaced += len(there)
                    report.transactions += 1
                done += 1
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
    except Neo4jError:
        raise
    except Exception as exc:
        err = _connection_error(exc, config)
        raise Neo4jError(
            f"{err} -- the load stopped after {done} of {len(batches)} batch(es); every committed batch holds "
            "whole documents, re-run the load to complete it"
        ) from None
    finally:
        if own:
            drv.close()
    report.seconds = time.perf_counter() - t0
    return report


def load_graph(
    graph: Graph,
    config: Neo4jConfig,
    *,
    wipe: bool = False,
    batch_size: int = 5000,
    progress: bool = False,
    transaction_per_row: bool = False,
) -> LoadReport:
    """Project ``graph`` (validated RDF following docs/MODEL.md) and write it to Neo4j.

    ``wipe`` first deletes every node with an ontology label. ``batch_size`` is the number of
    rows (nodes + relationships) per transaction; documents are never split across
    transactions. ``transaction_per_row`` writes each row in its own transaction (slow; only
    for comparing timings). Raises :class:`kg.errors.Neo4jError` with a one-line message.
    """
    rule = default_rule()
    return load_projection(
        project(graph, rule),
        config,
        rule=rule,
        wipe_first=wipe,
        batch_size=batch_size,
        progress=progress,
        transaction_per_row=transaction_per_row,
    )


def read_graph(path: Path) -> Graph:
    """The merged graph of an output directory (its store) or of an RDF file (kg.readers.store.open_build)."""
    with open_build(path) as build:
        return build.graph()


def load_path(path: Path, config: Neo4jConfig, **kwargs: Any) -> LoadReport:
    """Read ``path`` (an output directory or an RDF file) and load it; see :func:`load_graph`."""
    return load_graph(read_graph(path), config, **kwargs)


def counts(config: Neo4jConfig, driver: neo4j.Driver | None = None) -> tuple[int, int]:
    """(nodes, relationships) in the database, for reports and tests."""
    own = driver is None
    drv = connect(config) if driver is None else driver
    try:
        n = drv.execute_query("MATCH (n) RETURN count(n) AS c", database_=config.database).records[0]["c"]
        r = drv.execute_query("MATCH ()-[r]->() RETURN count(r) AS c", database_=config.database).records[0]["c"]
        return int(n), int(r)
    finally:
        if own:
            drv.close()
