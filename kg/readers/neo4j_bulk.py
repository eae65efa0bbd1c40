"""``kg load --bulk``: a build into an empty Neo4j database with neo4j-admin's importer.

The batched loader (:mod:`kg.readers.neo4j`) MERGEs rows in transactions, which is what a daily
load of new articles needs. For a first load of a large build, ``neo4j-admin database import
full`` writes the store files directly and is many times faster. This module writes the same
projection (:mod:`kg.readers.projection`: same labels, properties, types and relationships) as the
importer's CSV files:

* one node file per set of labels and properties, ``nodes-<Label>-<Label>-<n>.csv``, whose header
  names each property with its type (``startDate:date``, ``names:string[]``, ``confidence:double``);
  the labels are given on the command line (``--nodes=Official:Person=FILE``), the IRI is the
  node id (``iri:ID(kg)``, stored as the ``iri`` property);
* one relationship file per type and set of properties, ``relationships-<TYPE>-<n>.csv``
  (``:START_ID(kg),:END_ID(kg),…``; ``--relationships=TYPE=FILE``);
* ``import.args``: the importer's options, one a line; ``constraints.cypher``: the uniqueness
  constraints ``kg load`` creates, to run after the import.

A property that has a date on one node and a partial date (a string) on another goes to two
files, so that each value keeps its type. Strings are quoted, missing values are empty fields
(no property), arrays are joined by a control character that no value contains; fields may span
lines (``--multiline-fields``, slower to read) only when a value holds a line break.

On the server of ``scripts/neo4j-local`` the import is run here (``scripts/neo4j-local import``:
stop, import, start on the same ports), then the constraints are created. For any other server
the files are written and the exact neo4j-admin command is returned, to run where the server is.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kg.errors import KgError, Neo4jError, WriteError
from kg.readers.neo4j import LoadReport, Neo4jConfig, connect, counts, ensure_constraints, redact_uri
from kg.readers.projection import Projection, ProjectionRule, check_allowed, default_rule

ROOT = Path(__file__).resolve().parents[2]
LOCAL_SCRIPT = ROOT / "scripts" / "neo4j-local"
#: Array delimiters tried in turn: the first that no array element contains is used.
ARRAY_DELIMITERS = ("\u001f", "\u001e", "\u001d", "\u001c")
ARGS_FILE = "import.args"
CONSTRAINTS_FILE = "constraints.cypher"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def admin_type(value: Any) -> str:
    """The neo4j-admin import type of a projected property value (``string``, ``date``, ``long[]`` …)."""
    if isinstance(value, list):
        if not value:
            return "string[]"
        inner = {admin_type(v) for v in value}
        if len(inner) != 1:
            raise KgError(f"a list property mixes types {sorted(inner)}; the projection gives homogeneous lists")
        return f"{inner.pop()}[]"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, datetime):
        return "localdatetime" if value.tzinfo is None else "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, dtime):
        return "localtime" if value.tzinfo is None else "time"
    if isinstance(value, str):
        return "string"
    raise KgError(f"no neo4j-admin import type for a {type(value).__name__} property value")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, date | datetime | dtime):
        return value.isoformat()
    return str(value)


def _field(value: Any, delimiter: str) -> str:
    """One CSV field: quoted (an empty string stays a property), or empty when the value is missing."""
    if value is None:
        return ""
    text = delimiter.join(_scalar(v) for v in value) if isinstance(value, list) else _scalar(value)
    return '"' + text.replace('"', '""') + '"'


def _array_strings(proj: Projection) -> Iterable[str]:
    for row in (*proj.nodes.values(), *proj.rels.values()):
        yield from row.sources
        for v in row.props.values():
            if isinstance(v, list):
                yield from (_scalar(x) for x in v)


def choose_array_delimiter(proj: Projection) -> str:
    """A delimiter for array fields that no element of any array contains."""
    left = list(ARRAY_DELIMITERS)
    for s in _array_strings(proj):
        left = [d for d in left if d not in s]
        if not left:
            raise KgError("every array delimiter kg can use (U+001C..U+001F) occurs in a list property value; "
                          "use kg load without --bulk")
    return left[0]


@dataclass
class BulkFiles:
    """The CSV folder written for neo4j-admin, and what it holds."""

    directory: Path
    args: list[str]  # the importer's options, file names relative to ``directory``
    nodes: int
    relationships: int
    labels: list[str]
    files: list[str] = field(default_factory=list)

    def command(self, database: str) -> str:
        """The neo4j-admin command to run in ``directory`` on the server's machine."""
        parts = ["neo4j-admin", "database", "import", "full", "--overwrite-destination=true", *self.args, database]
        return " ".join(shlex.quote(p) for p in parts)


def _signature(props: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, admin_type(v)) for k, v in props.items()))


def _check_name(name: str, what: str) -> None:
    if not _NAME_RE.match(name):
        raise KgError(f"{what} {name!r} cannot be a neo4j-admin CSV header name; use kg load without --bulk")


def _write_csv(path: Path, header: list[str], rows: Iterable[list[Any]], delimiter: str) -> bool:
    """Write one CSV file; True when a field holds a line break (the importer must then read
    fields across lines, which it does more slowly, so the option is set only when needed)."""
    multiline = False
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(header) + "\n")
        for row in rows:
            line = ",".join(_field(v, delimiter) for v in row)
            multiline = multiline or "\n" in line or "\r" in line
            fh.write(line + "\n")
    return multiline


def _prepare_directory(directory: Path) -> Path:
    """A fresh staging folder next to ``directory``; refuse to replace a folder kg did not write."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise WriteError(f"{directory}: exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / ARGS_FILE).is_file():
        raise WriteError(f"{directory}: exists and is not a folder written by kg load --bulk (no {ARGS_FILE}); "
                         "give another --csv-dir")
    if not directory.parent.is_dir():
        raise WriteError(f"{directory}: the directory {directory.parent} does not exist; create it first")
    return Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))


def write_import_csv(proj: Projection, directory: Path, rule: ProjectionRule | None = None) -> BulkFiles:
    """Write ``proj`` as neo4j-admin import CSV files into ``directory`` (replaced whole, atomically)."""
    rule = rule or default_rule()
    check_allowed(proj, rule)
    delimiter = choose_array_delimiter(proj)
    directory = Path(directory)
    staging = _prepare_directory(directory)
    args: list[str] = []
    files: list[str] = []
    multiline = False
    try:
        node_groups: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], list[Any]] = defaultdict(list)
        for n in proj.nodes.values():
            props = {k: v for k, v in n.props.items() if k != "iri"}
            props["sources"] = list(n.sources)
            node_groups[(n.labels, _signature(props))].append((n.iri, props))
        counter: dict[str, int] = defaultdict(int)
        for (labels, sig), rows in sorted(node_groups.items()):
            for name, _ in sig:
                _check_name(name, "property")
            stem = "nodes-" + "-".join(labels)
            counter[stem] += 1
            fname = f"{stem}-{counter[stem]}.csv"
            header = ["iri:ID(kg)", *(f"{k}:{t}" for k, t in sig)]
            multiline |= _write_csv(staging / fname, header, ([iri, *(p.get(k) for k, _ in sig)] for iri, p in rows),
                                    delimiter)
            args.append(f"--nodes={':'.join(labels)}={fname}")
            files.append(fname)
        rel_groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[Any]] = defaultdict(list)
        for r in proj.rels.values():
            props = dict(r.props)
            if r.iri:
                props["iri"] = r.iri
            props["sources"] = list(r.sources)
            rel_groups[(r.type, _signature(props))].append((r.start, r.end, props))
        for (rtype, sig), rows in sorted(rel_groups.items()):
            for name, _ in sig:
                _check_name(name, "property")
            stem = f"relationships-{rtype}"
            counter[stem] += 1
            fname = f"{stem}-{counter[stem]}.csv"
            header = [":START_ID(kg)", ":END_ID(kg)", *(f"{k}:{t}" for k, t in sig)]
            multiline |= _write_csv(staging / fname, header,
                                    ([s, e, *(p.get(k) for k, _ in sig)] for s, e, p in rows), delimiter)
            args.append(f"--relationships={rtype}={fname}")
            files.append(fname)
        args += [
            "--id-type=string",
            f"--multiline-fields={'true' if multiline else 'false'}",
            f"--array-delimiter=U+{ord(delimiter):04X}",
            "--strict=true",
            "--bad-tolerance=0",
        ]
        labels = sorted({lab for n in proj.nodes.values() for lab in n.labels})
        (staging / ARGS_FILE).write_text("".join(a + "\n" for a in args), encoding="utf-8")
        (staging / CONSTRAINTS_FILE).write_text(
            "".join(f"CREATE CONSTRAINT `kg_{lab}_iri` IF NOT EXISTS FOR (n:`{lab}`) REQUIRE n.iri IS UNIQUE;\n"
                    for lab in labels), encoding="utf-8")
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
            os.replace(directory, old / "d")
            os.replace(staging, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, directory)
    except OSError as exc:
        raise WriteError(f"{directory}: cannot write the import files: {exc.strerror or exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return BulkFiles(directory, args, len(proj.nodes), len(proj.rels), labels, files)


def local_envfile(config: Neo4jConfig) -> Path | None:
    """The env file of the ``scripts/neo4j-local`` server that ``config`` points at, or None.

    The server is the local one when the script is there (a checkout of the project), its env
    file exists (it runs; ``KG_CACHE`` and ``KG_NEO4J_INSTANCE`` say which) and ``config``'s URI
    names its Bolt port on the loopback address."""
    if not LOCAL_SCRIPT.is_file():
        return None
    try:
        proc = subprocess.run([str(LOCAL_SCRIPT), "envfile"], capture_output=True, text=True, timeout=30,
                              check=False)
    except OSError:
        return None
    envfile = Path(proc.stdout.strip()) if proc.returncode == 0 else None
    if envfile is None or not envfile.is_file():
        return None
    try:
        local = urlsplit(Neo4jConfig.from_env_file(envfile).uri)
        given = urlsplit(config.uri)
        same = local.port == given.port and given.hostname in ("127.0.0.1", "localhost", "::1")
    except (KeyError, ValueError):
        return None
    return envfile if same else None


def database_nodes(config: Neo4jConfig) -> int:
    """How many nodes the database holds (0: empty)."""
    driver = connect(config)
    try:
        rec = driver.execute_query("MATCH (n) RETURN count(n) AS c", database_=config.database).records[0]
        return int(rec["c"])
    finally:
        driver.close()


@dataclass
class BulkReport(LoadReport):
    """What ``kg load --bulk`` wrote, and the command to run when the server is not the local one."""

    files: BulkFiles | None = None
    imported: bool = False
    seconds_import: float = 0.0  # stop, neo4j-admin, start
    seconds_csv: float = 0.0

    def summary(self) -> str:
        """What was done, or what to do next."""
        assert self.files is not None
        d = self.files.directory
        if self.imported:
            return (f"imported {self.nodes} nodes and {self.relationships} relationships from {self.documents} "
                    f"document(s) into {self.uri} (database {self.database}) with neo4j-admin in "
                    f"{self.seconds:.2f}s (CSV {self.seconds_csv:.2f}s, stop + import + start "
                    f"{self.seconds_import:.2f}s); the CSV files are in {d}")
        return (
            f"wrote {self.nodes} nodes and {self.relationships} relationships from {self.documents} document(s) "
            f"as neo4j-admin import files into {d}\n"
            f"{self.uri} is not the server of scripts/neo4j-local, so the import is yours to run. Copy {d} to "
            "the server's machine, stop the database (Neo4j Community: stop the server), and run in that folder:\n"
            f"  {self.files.command(self.database)}\n"
            f"then start it and create the uniqueness constraints kg load uses ({d / CONSTRAINTS_FILE}), e.g.\n"
            f"  cypher-shell -a {self.uri} -d {self.database} -f {CONSTRAINTS_FILE}"
        )


def _run_local_import(directory: Path, database: str) -> None:
    """``scripts/neo4j-local import DIR DATABASE``; its progress goes to stderr. A Ctrl-C reaches the
    script too: it lets the importer stop, starts the server again and exits; here we wait for it."""
    proc = subprocess.Popen([str(LOCAL_SCRIPT), "import", str(directory), database], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate()
    except KeyboardInterrupt:
        proc.wait()
        raise
    if proc.returncode != 0:
        last = [line for line in err.splitlines() if line.strip()]
        raise Neo4jError(f"scripts/neo4j-local import {directory} failed: {last[-1] if last else proc.returncode}")


def _reconnect(config: Neo4jConfig, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            connect(config).close()
            return
        except Neo4jError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def load_bulk(proj: Projection, config: Neo4jConfig, directory: Path, *,
              rule: ProjectionRule | None = None) -> BulkReport:
    """Write ``proj`` for neo4j-admin into ``directory`` and, on the local server, import it and
    create the constraints. Refuses a database that holds any node (exit 2)."""
    rule = rule or default_rule()
    check_allowed(proj, rule)
    t0 = time.perf_counter()
    report = BulkReport(redact_uri(config.uri), config.database, len(proj.documents), len(proj.nodes),
                        len(proj.rels))
    report.skipped = list(proj.skipped)
    held = database_nodes(config)
    if held:
        raise Neo4jError(
            f"database {config.database!r} at {redact_uri(config.uri)} holds {held} nodes; kg load --bulk writes "
            "only into an empty database (use kg load without --bulk, or empty the database first: "
            "scripts/neo4j-local reset for the local server)"
        )
    report.files = write_import_csv(proj, directory, rule)
    report.seconds_csv = time.perf_counter() - t0
    if local_envfile(config) is None:
        report.seconds = time.perf_counter() - t0
        return report
    t1 = time.perf_counter()
    _run_local_import(report.files.directory, config.database)
    _reconnect(config)
    report.seconds_import = time.perf_counter() - t1
    driver = connect(config)
    try:
        ensure_constraints(driver, config, report.files.labels, rule)
        got = counts(config, driver)
    finally:
        driver.close()
    if got != (len(proj.nodes), len(proj.rels)):
        raise Neo4jError(f"the import gave {got[0]} nodes and {got[1]} relationships for {len(proj.nodes)} and "
                         f"{len(proj.rels)} (log: the server's logs/import.log)")
    report.imported = True
    report.seconds = time.perf_counter() - t0
    return report
