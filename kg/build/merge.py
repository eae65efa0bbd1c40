"""The corpus step of the union graph: nodes several articles share, merged on disk.

Each article's graph is mapped and validated on its own (kg.build.pipeline). Its entities,
positions and events may recur in other articles, so their triples are not written as they come:
they are appended to an external sort, keyed by subject and the article's place in the build,
and read back one subject at a time, in IRI order, with all its triples from every article.
Memory holds one subject's triples at a time, whatever the size of the corpus.

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

    def __init__(self, folder: Path, run_bytes: int = 32 << 20) -> None:
        self.folder = folder
        self.run_bytes = run_bytes
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
    """The shared subjects' triples of every article, merged per subject (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.sorter = ExternalSorter(folder)

    def add(self, seq: int, nt: bytes) -> None:
        """The N-Triples lines of article number ``seq`` (its place in the build's order)."""
        tag = b"\t%09d\t" % seq
        for line in nt.splitlines(keepends=True):
            # N-Triples: "<subject> <predicate> object ." and an IRI has neither ">" nor " "
            self.sorter.add(line[1:line.index(b"> ")] + tag + line)

    def subjects(self) -> Iterator[tuple[list[ox.Triple], int]]:
        """Each subject's merged triples and how many articles gave them; subjects in IRI order, triples
        in the order the files use."""
        current: bytes | None = None
        lines: list[bytes] = []
        seqs: set[bytes] = set()
        for row in self.sorter:
            subject, _, rest = row.partition(b"\t")
            if subject != current:
                if lines:
                    yield merge_subject(lines), len(seqs)
                current, lines, seqs = subject, [], set()
            seqs.add(rest[:9])
            lines.append(rest[10:])  # the line, without the article's number (already in order)
        if lines:
            yield merge_subject(lines), len(seqs)


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
