"""The on-disk store of a build, and the one way every reader opens a build (:func:`open_build`).

``kg build`` bulk-loads its outputs into ``OUTDIR/store`` (an Oxigraph database, RocksDB on
disk) with :func:`write_store`, in its staging folder, and the store switches with the other
outputs (kg.build.outdir): the **default graph is the merged graph** of ``graph.ttl`` and
every document keeps its **named graph** ``id:doc/{doc_id}`` from ``graph.trig``. Readers open it
read-only, so a query reads only what it needs from disk instead of parsing the whole graph into
memory, and the default graph is a set of triples — not a copy per document, as the union of the
named graphs would give.

:func:`open_build` is what ``kg query``, ``kg serve``, ``kg stats``, ``kg export``, ``kg view`` and
``kg load`` call. It takes a build directory or a single RDF file (parsed into a store in memory
by :func:`kg.rdfio.parse_rdf_quads`, which fetches nothing) and raises :class:`kg.errors.ReadError`
with one set of messages, each saying how to fix it.

A reader opens the store the build shows when it starts (links resolved), and keeps reading it
while a later build switches OUTDIR to its own.

A build directory written by an older kg has ``graph.ttl`` but no store: the first reader adds
one, built from ``graph.ttl`` and ``graph.trig`` into a staging folder in OUTDIR and renamed beside
them (atomic; when two readers race, one store wins and the other is discarded). When OUTDIR
is not writable that is an error saying to rebuild.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph

from kg import __version__
from kg.errors import ReadError
from kg.namespaces import bind_prefixes
from kg.rdfio import RDF_FORMATS, RdflibTerms, RdfRefusedError, parse_rdf_quads

#: The store's folder in OUTDIR.
STORE_DIR = "store"
#: The layout of the store this kg writes and reads; a store of another format is not opened.
STORE_FORMAT = 1
#: The files of a build the store is made from when an older build has none.
GRAPH_FILE = "graph.ttl"
ARTICLE_FILE = "graph.trig"

_DB = "oxigraph"
#: Quads handed to Oxigraph's bulk loader at a time: its memory is bounded by this, not by the build.
LOAD_BATCH = 100_000
_MANIFEST = "manifest.json"
_STAGING_PREFIX = ".kg-build-store-"  # a build removes leftovers of killed runs (its staging prefix)

#: Formats :func:`write_store` bulk-loads: the merged graph (triples) and per-article files (quads).
_LOAD_FORMATS: dict[str, ox.RdfFormat] = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".trig": ox.RdfFormat.TRIG,
    ".nq": ox.RdfFormat.N_QUADS,
}
_PREFIX_LINE = re.compile(r"@prefix\s+([A-Za-z][\w.-]*)?:\s*<([^<>\s]*)>\s*\.\s*$|PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^<>\s]*)>\s*$",
                          re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Writing (the build's output step)
# ---------------------------------------------------------------------------------------------


def write_store(dest: Path, graph_file: Path, article_files: Iterable[Path] = ()) -> dict[str, Any]:
    """Bulk-load a store into the new folder ``dest`` and return its manifest.

    ``graph_file`` (Turtle or N-Triples: the validated, merged graph) becomes the default graph;
    ``article_files`` (TriG or N-Quads, one named graph per document) give the named graphs. Both
    are streamed from disk by pyoxigraph's bulk loader, never held in memory. The manifest
    (format, counts, the size of ``graph_file`` and its prefixes) is written last: a folder without
    one is an unfinished store. Raises ``OSError`` / ``SyntaxError`` / ``ValueError`` on a file
    that cannot be loaded.
    """
    dest = Path(dest)
    dest.mkdir(parents=True)
    graph_file = Path(graph_file)
    store = ox.Store(str(dest / _DB))
    try:
        # counted as they are loaded: a query counting the store would read all of it again, through
        # RocksDB's block cache (15 MiB more at 500 articles, 30 MiB at 4,000)
        triples = _bulk_load(store, graph_file, ox.DefaultGraph())
        quads = triples + sum(_bulk_load(store, Path(f), None) for f in article_files)
        graphs = sum(1 for _ in store.named_graphs())
        store.flush()
        store.optimize()  # the batches' files compacted: reads touch fewer of them
    finally:
        del store  # closes the database before the folder is moved
    manifest = {
        "format": STORE_FORMAT,
        "kg_version": __version__,
        "graph_file": graph_file.name,
        "graph_file_bytes": graph_file.stat().st_size,
        "triples": triples,
        "named_graphs": graphs,
        "quads": quads,
        "prefixes": _leading_prefixes(graph_file),
    }
    (dest / _MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


def _bulk_load(store: ox.Store, path: Path, graph: ox.DefaultGraph | None) -> int:
    """Bulk-load one file, streamed, :data:`LOAD_BATCH` quads at a time, and return how many quads it
    gave (the files kg writes hold each once); a syntax error names the file.

    With ``graph``, every triple goes into that graph; without, the file is a per-article file, whose
    triples outside named graphs must already be in the store's default graph (the merged graph,
    loaded first), else ``ValueError``.

    Oxigraph's bulk loader keeps up to a million quads per thread in memory before it writes them
    out (``Store.bulk_load`` on a whole file took 0.7 GB at 1.3 million quads and 2.2 GB at 13
    million); batches of :data:`LOAD_BATCH` bound it whatever the size of the build."""
    fmt = _load_format(path)
    n = 0
    try:
        quads: Iterator[ox.Quad] = ox.parse(path=str(path), format=fmt)
        if graph is not None:
            quads = (ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads)
        else:
            quads = _named_only(store, quads)
        while batch := list(itertools.islice(quads, LOAD_BATCH)):
            store.bulk_extend(batch)
            n += len(batch)
    except SyntaxError as exc:
        raise SyntaxError(f"{path}: not valid RDF: {_first_line(exc)}") from None
    return n


def _named_only(store: ox.Store, quads: Iterator[ox.Quad]) -> Iterator[ox.Quad]:
    """The quads of named graphs; a triple of the default graph must be one the store has already."""
    for q in quads:
        if not isinstance(q.graph_name, ox.DefaultGraph):
            yield q
        elif q not in store:
            raise ValueError(
                "a per-article file holds triples outside named graphs; the default graph is the merged graph only"
            )


def _load_format(path: Path) -> ox.RdfFormat:
    fmt = _LOAD_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: the store is loaded from {', '.join(_LOAD_FORMATS)} files only")
    return fmt


def _leading_prefixes(path: Path) -> dict[str, str]:
    """The prefixes declared at the top of a Turtle file (kg writes them there), for readable output."""
    out: dict[str, str] = {}
    if path.suffix.lower() != ".ttl":
        return out
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.strip():
                continue
            m = _PREFIX_LINE.match(line.strip())
            if m is None:
                break
            name, iri = (m.group(1), m.group(2)) if m.group(2) is not None else (m.group(3), m.group(4))
            out[name or ""] = iri
    return out


# ---------------------------------------------------------------------------------------------
# Opening (every reader)
# ---------------------------------------------------------------------------------------------


@dataclass
class Build:
    """An opened build directory or RDF file: a pyoxigraph store whose default graph is the merged
    graph, with one named graph per document when the source has them.

    ``source`` is what is read (``OUTDIR/store`` or the file); ``on_disk`` is false for a file
    parsed into memory. Use as a context manager, or call :meth:`close`.
    """

    path: Path
    source: Path
    store: ox.Store
    on_disk: bool
    manifest: dict[str, Any] = field(default_factory=dict)

    def triples(self) -> Iterator[ox.Quad]:
        """The quads of the default graph (the merged graph)."""
        return self.store.quads_for_pattern(None, None, None, ox.DefaultGraph())

    def graph(self) -> Graph:
        """The merged graph as an rdflib graph, with the project's prefixes and those of the build."""
        g = bind_prefixes(Graph())
        for prefix, iri in (self.manifest.get("prefixes") or {}).items():
            if prefix and prefix not in dict(g.namespaces()):
                g.bind(prefix, iri)
        terms = RdflibTerms()
        try:
            g.addN((terms(q.subject), terms(q.predicate), terms(q.object), g) for q in self.triples())
        except (OSError, RuntimeError) as exc:
            raise ReadError(self.damaged(f"reading it failed: {_first_line(exc)}")) from exc
        except ValueError as exc:
            raise ReadError(f"{self.source}: {exc}") from exc
        return g

    def damaged(self, why: str) -> str:
        """The message for a store (or file) that failed while being read."""
        if self.on_disk:
            return _damaged(self.path, why)
        return f"{self.source}: {why}"

    def close(self) -> None:
        """Let go of the store (the database is closed once no query holds it)."""
        self.store = None  # type: ignore[assignment]

    def __enter__(self) -> Build:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_build(path: Path | str) -> Build:
    """Open a ``kg build`` output directory (its store) or one RDF file, read-only.

    Raises :class:`ReadError` naming the path when it is missing, not a build, built by another
    version of kg, damaged or not valid RDF; each message says how to fix it.
    """
    p = Path(path)
    if p.is_dir():
        return _open_dir(p)
    if not p.exists():
        raise ReadError(
            f"{p}: no such file or directory; give a build directory (`kg build ARTICLES -o {p}`) or an RDF file"
        )
    return _open_file(p)


def check_build(path: Path | str) -> Path:
    """What :func:`open_build` would read for ``path`` (``OUTDIR/store``, ``OUTDIR`` for an older build
    whose store is added on first open, or the file), without opening it; raises :class:`ReadError`."""
    p = Path(path)
    if p.is_dir():
        if (p / STORE_DIR).is_dir():
            _read_manifest(p, (p / STORE_DIR).resolve())
            return p / STORE_DIR
        if (p / GRAPH_FILE).is_file():
            return p
        raise ReadError(_not_a_build(p))
    if not p.exists():
        raise ReadError(
            f"{p}: no such file or directory; give a build directory (`kg build ARTICLES -o {p}`) or an RDF file"
        )
    _file_format(p)
    return p


def _not_a_build(p: Path) -> str:
    return (
        f"{p}: not a kg build (no {STORE_DIR}/ and no {GRAPH_FILE} in it); build one with "
        f"`kg build ARTICLES -o {p}`, or give an RDF file"
    )


def _damaged(outdir: Path, why: str) -> str:
    store_dir = outdir / STORE_DIR
    real = store_dir.resolve()
    # the folder to delete is the one the link OUTDIR/store points to (deleting the link leaves it)
    folder = f"{real} (where {store_dir} points)" if store_dir.is_symlink() and real.exists() else str(store_dir)
    return (
        f"{store_dir} is damaged ({why}); rebuild with `kg build ARTICLES -o {outdir}`, or delete "
        f"{folder} and kg makes it again from {outdir / GRAPH_FILE}"
    )


def _read_manifest(outdir: Path, real: Path) -> dict[str, Any]:
    """The manifest of OUTDIR's store (``real``: its folder, links resolved), checked against the
    graph file beside it (in the same build generation when OUTDIR's names are links)."""
    store_dir = outdir / STORE_DIR
    try:
        manifest = json.loads((real / _MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReadError(_damaged(outdir, f"no {_MANIFEST}: it was not finished")) from None
    except (OSError, ValueError) as exc:
        raise ReadError(_damaged(outdir, f"{_MANIFEST} cannot be read: {exc}")) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("format"), int):
        raise ReadError(_damaged(outdir, f"{_MANIFEST} has no format number"))
    fmt = manifest["format"]
    if fmt < STORE_FORMAT:
        raise ReadError(
            f"{outdir}: built by an older kg ({manifest.get('kg_version', '?')}, store format {fmt}; this kg "
            f"reads format {STORE_FORMAT}); rebuild it with `kg build ARTICLES -o {outdir}`"
        )
    if fmt > STORE_FORMAT:
        raise ReadError(
            f"{outdir}: built by a newer kg ({manifest.get('kg_version', '?')}, store format {fmt}; this kg "
            f"reads format {STORE_FORMAT}); upgrade kg, or rebuild it with this one: `kg build ARTICLES -o {outdir}`"
        )
    name = str(manifest.get("graph_file", GRAPH_FILE))
    graph_file = outdir / name
    beside = real.parent / name
    if beside.is_file() and beside.stat().st_size != manifest.get("graph_file_bytes"):
        raise ReadError(
            f"{store_dir} does not match {graph_file} (they were written by different builds); rebuild with "
            f"`kg build ARTICLES -o {outdir}`, or delete {store_dir} and kg makes it again from {graph_file}"
        )
    return manifest


def _open_dir(outdir: Path) -> Build:
    store_dir = outdir / STORE_DIR
    if not store_dir.is_dir():
        if not (outdir / GRAPH_FILE).is_file():
            raise ReadError(_not_a_build(outdir))
        home = (outdir / GRAPH_FILE).resolve().parent
        if not store_dir.is_symlink() and home != outdir.resolve() and (home / STORE_DIR).is_dir():
            _relink_store(outdir)  # the link OUTDIR/store was removed; the build's store is still there
        else:
            _add_store(outdir)
    # the store of the build OUTDIR shows now: a later build switching OUTDIR's links to its own
    # generation does not change what this reader reads
    real = store_dir.resolve()
    manifest = _read_manifest(outdir, real)
    try:
        store = ox.Store.read_only(str(real / _DB))
    except (OSError, RuntimeError) as exc:  # RocksDB reports a damaged file as RuntimeError("Corruption: …")
        raise ReadError(_damaged(outdir, f"the database does not open: {_first_line(exc)}")) from None
    return Build(outdir, store_dir, store, True, manifest)


def _add_store(outdir: Path) -> None:
    """Give a build written by an older kg its store, made from its graph.ttl and graph.trig in a
    staging folder and renamed beside them (in the build's generation folder when OUTDIR's names are
    links into one, with a link OUTDIR/store made like theirs)."""
    graph = outdir / GRAPH_FILE
    home = graph.resolve().parent
    try:
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=outdir))
    except OSError as exc:
        raise ReadError(
            f"{outdir}: built by an older kg without a query store, and one cannot be added here "
            f"({exc.strerror or exc}); rebuild with `kg build ARTICLES -o {outdir}`, or copy the folder "
            "somewhere writable"
        ) from None
    try:
        articles = [(outdir / ARTICLE_FILE).resolve()] if (outdir / ARTICLE_FILE).is_file() else []
        try:
            write_store(staging / STORE_DIR, graph.resolve(), articles)
        except (OSError, SyntaxError, ValueError) as exc:
            raise ReadError(
                f"{outdir}: built by an older kg without a query store, and none can be made from its "
                f"files: {_first_line(exc)}; rebuild with `kg build ARTICLES -o {outdir}`"
            ) from None
        try:
            (staging / STORE_DIR).rename(home / STORE_DIR)
            if home != outdir.resolve():
                _link_like(graph, outdir / STORE_DIR)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):  # else another reader added it first
                raise ReadError(f"{outdir / STORE_DIR}: cannot be written: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _relink_store(outdir: Path) -> None:
    """Put back the link OUTDIR/store of a build whose store is still in its generation folder."""
    try:
        _link_like(outdir / GRAPH_FILE, outdir / STORE_DIR)
    except OSError as exc:
        raise ReadError(f"{outdir / STORE_DIR}: the link to the build's store is missing and cannot be made again "
                        f"({exc.strerror or exc}); rebuild with `kg build ARTICLES -o {outdir}`") from None


def _link_like(sibling: Path, dest: Path) -> None:
    """Make ``dest`` a link into the same folder ``sibling``'s link points into (one rename)."""
    target = os.path.join(os.path.dirname(os.readlink(sibling)), dest.name) if sibling.is_symlink() else None
    if target is None or dest.is_symlink() or dest.exists():
        return
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.kg-link"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(target, tmp)
    tmp.replace(dest)


def _file_format(p: Path) -> str:
    fmt = RDF_FORMATS.get(p.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(RDF_FORMATS))
        raise ReadError(f"{p}: unknown RDF file type {p.suffix!r}; expected a build directory or one of {known}")
    return fmt


def _open_file(p: Path) -> Build:
    """Parse one RDF file into a store in memory: its triples (of all its graphs) in the default graph,
    its named graphs kept."""
    fmt = _file_format(p)
    if not p.is_file():
        raise ReadError(f"{p}: not a regular file; give a build directory or an RDF file")
    store = ox.Store()
    prefixes: dict[str, str] = {}

    def quads() -> Iterator[ox.Quad]:
        for q in parse_rdf_quads(p, fmt, prefixes):
            yield q
            if not isinstance(q.graph_name, ox.DefaultGraph):
                yield ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph())

    try:
        store.bulk_extend(quads())
    except RdfRefusedError as exc:
        raise ReadError(f"{p}: {exc}") from None
    except SyntaxError as exc:
        raise ReadError(f"{p}: not valid {fmt} RDF: {_first_line(exc)}") from None
    except (OSError, ValueError) as exc:
        raise ReadError(f"{p}: cannot be read: {_first_line(exc)}") from None
    return Build(p, p, store, False, {"prefixes": prefixes})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__


__all__ = [
    "STORE_DIR",
    "STORE_FORMAT",
    "Build",
    "check_build",
    "open_build",
    "write_store",
]
