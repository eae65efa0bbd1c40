"""The corpus step of the union graph: nodes several articles share, merged on disk.

Each article's graph is mapped and validated on its own (kg.build.pipeline). Its entities,
positions and events may recur in other articles, so their triples are not written as they come:
they are appended to an external sort, keyed by subject and the article's place in the build,
and read back one subject at a time, in IRI order, with all its triples from every article.
Memory holds one subject's distinct triples at a time, whatever the size of the corpus: the
``dip:mentionedIn`` triples, one per article that names the node, are sorted by their object
and streamed to the writer instead.

Merging a subject keeps every triple once, and one value where the model allows one: the most
specific class (an Official is not also a Person), the preferred label of the first article
(in the build's order) that named it, the other names as skos:altLabel, and the first article's
dates and status (events reported by several articles already agree on them, kg.build.events).
"""

from __future__ import annotations

import heapq
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib.namespace import RDF, RDFS, SKOS

from kg.namespaces import DIP

_TYPE, _LABEL, _ALT = ox.NamedNode(str(RDF.type)), ox.NamedNode(str(RDFS.label)), ox.NamedNode(str(SKOS.altLabel))
_PERSON, _OFFICIAL = ox.NamedNode(str(DIP.Person)), ox.NamedNode(str(DIP.Official))
_ENTITY_CLASSES = {ox.NamedNode(str(c)) for c in (DIP.Person, DIP.Official, DIP.State, DIP.Organization, DIP.Place)}
#: properties with one value per node: the first article's value is kept
_FIRST_ONLY = {ox.NamedNode(str(p)) for p in (DIP.startDate, DIP.endDate, DIP.status)}


class ExternalSorter:
    """Byte lines sorted on disk: runs of at most ``run_bytes`` sorted in memory, then merged."""

    def __init__(self, folder: Path, run_bytes: int = 8 << 20, max_runs: int = 256) -> None:
        self.folder = folder
        self.run_bytes = run_bytes
        self.max_runs = max_runs  # more runs are merged into one first: a merge opens every run at once
        self.buf: list[bytes] = []
        self.size = 0
        self.runs: list[Path] = []

    def add(self, line: bytes) -> None:
        self.buf.append(line)
        self.size += len(line) + 56
        if self.size >= self.run_bytes:
            self._flush()

    def _flush(self) -> None:
        if not self.buf:
            return
        self.buf.sort()
        fd, name = tempfile.mkstemp(prefix="run-", suffix=".txt", dir=self.folder)
        with os.fdopen(fd, "wb") as fh:
            fh.writelines(self.buf)
        self.runs.append(Path(name))
        self.buf, self.size = [], 0
        if len(self.runs) >= self.max_runs:
            fd, name = tempfile.mkstemp(prefix="run-", suffix=".txt", dir=self.folder)
            files = [p.open("rb") for p in self.runs]
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.writelines(heapq.merge(*files))
            finally:
                for f in files:
                    f.close()
                for p in self.runs:
                    p.unlink(missing_ok=True)
            self.runs = [Path(name)]

    def __iter__(self) -> Iterator[bytes]:
        if not self.runs:
            self.buf.sort()
            yield from self.buf
            self.buf = []
            return
        self._flush()
        files = [p.open("rb") for p in self.runs]
        try:
            yield from heapq.merge(*files)
        finally:
            for fh in files:
                fh.close()
            for p in self.runs:
                p.unlink(missing_ok=True)


class SharedNodes:
    """The shared subjects' triples of every article, merged per subject (see the module docstring).

    A node named by many articles has one ``dip:mentionedIn`` triple per article (an official named
    by every article of a 30,000-article corpus has 30,000): those are sorted by their object and
    streamed when the node is written (:meth:`MergedSubject.triples`), never held together.
    """

    def __init__(self, folder: Path) -> None:
        self.sorter = ExternalSorter(folder)

    def add(self, seq: int, nt: bytes) -> None:
        """The N-Triples lines of article number ``seq`` (its place in the build's order)."""
        tag = b"\t%09d\t" % seq
        for line in nt.splitlines(keepends=True):
            # N-Triples: "<subject> <predicate> object ." and an IRI has neither ">" nor " "
            cut = line.index(b"> ")
            if line.startswith(_STREAMED, cut + 2):
                # after the subject's other lines ("~" sorts after digits), in the order of their object
                obj = line[cut + 2 + len(_STREAMED):line.index(b">", cut + 2 + len(_STREAMED))]
                self.sorter.add(line[1:cut] + b"\t~" + obj + b"\t" + line)
            else:
                self.sorter.add(line[1:cut] + tag + line)

    def subjects(self) -> Iterator[MergedSubject]:
        """Each subject merged, in IRI order. A subject's streamed triples are read while it is written:
        take them (:meth:`MergedSubject.triples`) before asking for the next subject."""
        rows = _Rows(iter(self.sorter))
        while rows.row is not None:
            subject = rows.row[:rows.row.index(b"\t") + 1]
            n = len(subject)
            seen: set[bytes] = set()
            unique: list[bytes] = []
            articles, last = 0, b""
            while (row := rows.row) is not None and row.startswith(subject) and row[n] != 0x7E:  # "~"
                seq = row[n:n + 9]
                if seq != last:  # the lines come in the articles' order
                    articles, last = articles + 1, seq
                line = row[n + 10:]
                if line not in seen:
                    seen.add(line)
                    unique.append(line)
                rows.advance()
            node = MergedSubject(merge_subject(unique), articles, _streamed(rows, subject))
            yield node
            for _ in node.streamed:  # what the reader did not take
                pass


#: The predicate whose triples are streamed (N-Triples, with the opening of an IRI object).
_STREAMED = b"<" + str(DIP.mentionedIn).encode() + b"> <"
_STREAMED_ORDER = (True, str(DIP.mentionedIn), False)  # where they go among the others (kg.rdfio.ox_order)
_PARSE_LINES = 4096


class _Rows:
    """The sorted rows, one looked ahead."""

    def __init__(self, it: Iterator[bytes]) -> None:
        self.it = it
        self.row: bytes | None = next(it, None)

    def advance(self) -> None:
        self.row = next(self.it, None)


def _streamed(rows: _Rows, subject: bytes) -> Iterator[ox.Triple]:
    """The streamed triples of ``subject`` (the rows that follow its other ones), once each, in order."""
    n = len(subject)
    last = b""
    batch: list[bytes] = []
    while (row := rows.row) is not None and row.startswith(subject):
        line = row[row.index(b"\t", n) + 1:]
        rows.advance()
        if line != last:
            last = line
            batch.append(line)
            if len(batch) >= _PARSE_LINES:
                yield from ox.parse(b"".join(batch), format=ox.RdfFormat.N_TRIPLES)
                batch = []
    if batch:
        yield from ox.parse(b"".join(batch), format=ox.RdfFormat.N_TRIPLES)


@dataclass
class MergedSubject:
    """One shared subject, merged: its triples but the streamed ones (``head``, in file order), how many
    articles gave them, and the streamed ``dip:mentionedIn`` triples, read from disk as they are taken."""

    head: list[ox.Triple]
    articles: int
    streamed: Iterator[ox.Triple]

    def triples(self) -> Iterator[ox.Triple]:
        """All its triples in file order (kg.rdfio.ox_order), the streamed ones among them."""
        from kg.rdfio import ox_order

        before = [t for t in self.head if ox_order(t) < _STREAMED_ORDER]
        yield from before
        yield from self.streamed
        yield from self.head[len(before):]


def merge_subject(lines: list[bytes]) -> list[ox.Triple]:
    """One subject's triples from the N-Triples ``lines`` of every article, in the articles' order."""
    from kg.rdfio import ox_order

    seen: set[bytes] = set()
    unique = []
    for line in lines:
        if line not in seen:
            seen.add(line)
            unique.append(line)
    triples = list(ox.parse(b"".join(unique), format=ox.RdfFormat.N_TRIPLES))
    types = {t.object for t in triples if t.predicate == _TYPE}
    entity = bool(types & _ENTITY_CLASSES)
    labels: dict[str, ox.Literal] = {}
    first: dict[ox.NamedNode, ox.Triple] = {}
    out: list[ox.Triple] = []
    for t in triples:
        p, o = t.predicate, t.object
        if p == _TYPE and o == _PERSON and _OFFICIAL in types:
            continue
        if p == _LABEL and isinstance(o, ox.Literal):
            lang = o.language or ""
            if lang not in labels:
                labels[lang] = o
            elif o != labels[lang]:
                if entity:  # another article's name for the entity
                    out.append(ox.Triple(t.subject, _ALT, o))
                continue
        if p in _FIRST_ONLY:
            if p in first:
                continue
            first[p] = t
        out.append(t)
    pref = set(labels.values())
    kept = {(t.predicate, t.object) for t in out}
    result = []
    for t in out:
        if t.predicate == _ALT and t.object in pref:
            continue
        if (t.predicate, t.object) in kept:
            kept.discard((t.predicate, t.object))
            result.append(t)
    result.sort(key=ox_order)
    return result
