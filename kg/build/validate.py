"""SHACL validation of the diplomacy graph against ``shapes/``.

Validation runs pySHACL with no inference: the shapes target every concrete class explicitly,
so the data graph does not need the ontology. Only Violation-severity results make a graph
non-conforming; Warnings (e.g. an unattributed quote) are reported but do not.

A problem that stops validation from running (missing or unparseable shapes or data file)
raises :class:`kg.errors.ValidationError`; a graph that does not conform is a normal result.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyshacl
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH
from rdflib.term import Node

from kg.errors import ValidationError
from kg.namespaces import OA, PREFIXES, bind_prefixes
from kg.rdfio import RDF_FORMATS, parse_rdf_file, union_graph

#: Namespace of the shapes themselves (``dipsh:``), so report lines name shapes readably.
DIPSH = Namespace("https://w3id.org/dipkg/shapes#")

#: The repository's shapes directory (``<repo>/shapes``), used when no directory is given.
SHAPES_DIR = Path(__file__).resolve().parents[2] / "shapes"
if not SHAPES_DIR.is_dir():  # an installed package carries a copy of shapes/
    SHAPES_DIR = Path(__file__).resolve().parents[1] / "data" / "shapes"

#: File extension -> rdflib parser format, for :func:`validate_file`.
FORMATS: dict[str, str] = RDF_FORMATS

_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
_SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}
_SHORT_PREFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted({**PREFIXES, "dipsh": str(DIPSH), "sh": str(SH)}.items(), key=lambda kv: -len(kv[1]))
)


@dataclass(frozen=True)
class Violation:
    """One SHACL result: which node, which property, what value, and why."""

    focus_node: str  # the IRI (or blank node id) of the node that failed
    path: str | None  # the property as a prefixed name (``dip:participant``, ``^oa:hasBody``)
    value: str | None  # the offending value, when the constraint names one
    message: str  # the shape's English sh:message (pySHACL's default when the shape has none)
    severity: str  # "Violation" | "Warning" | "Info"
    source_shape: str  # the shape as a prefixed name (``dipsh:MeetingShape-participantCount``)


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of validating a graph. ``conforms`` is False only if a Violation exists."""

    conforms: bool
    violations: tuple[Violation, ...]
    report_graph: Graph
    text: str

    @property
    def errors(self) -> tuple[Violation, ...]:
        """The Violation-severity results only."""
        return tuple(v for v in self.violations if v.severity == "Violation")

    @property
    def warnings(self) -> tuple[Violation, ...]:
        """The Warning-severity results only."""
        return tuple(v for v in self.violations if v.severity == "Warning")


# ---------------------------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------------------------


def load_shapes(shapes_dir: Path | None = None) -> Graph:
    """Parse every ``*.ttl`` of ``shapes_dir`` (default: the repository's ``shapes/``) into one graph.

    The result is cached per directory; treat it as read-only.
    """
    directory = (shapes_dir or SHAPES_DIR).resolve()
    return _load_shapes_cached(str(directory))


@functools.lru_cache(maxsize=8)
def _load_shapes_cached(directory: str) -> Graph:
    path = Path(directory)
    if not path.is_dir():
        raise ValidationError(
            f"{path}: shapes directory not found; pass the directory that holds the SHACL .ttl files"
        )
    files = sorted(path.glob("*.ttl"))
    if not files:
        raise ValidationError(f"{path}: no *.ttl shapes files in the shapes directory")
    graph = Graph()
    for file in files:
        try:
            graph.parse(file, format="turtle")
        except Exception as exc:  # rdflib raises many unrelated types for bad syntax
            raise ValidationError(f"{file}: cannot parse the shapes file as Turtle: {exc}") from exc
    _bind_report_prefixes(graph)
    return graph


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------


def validate_graph(data: Graph, shapes: Graph | None = None, *, processes: int = 1,
                   tmpdir: Path | None = None) -> ValidationResult:
    """Validate ``data`` against ``shapes`` (default: :func:`load_shapes`) with no inference.

    With ``processes`` > 1 the shapes that have targets are shared out among that many forked
    processes, each validating the whole graph against its share (the report is the same: every
    SHACL result belongs to one shape and one focus node). Small graphs are validated here. Their
    reports come back through unlinked temporary files in ``tmpdir`` (default: the system's).
    """
    shapes_graph = shapes if shapes is not None else load_shapes()
    if data.context_aware:  # a Dataset: validate the union, not each named graph on its own
        data = union_graph(data)  # type: ignore[arg-type]
    parts = _shares(data, shapes_graph, processes) if processes > 1 and len(data) >= PARALLEL_MIN_TRIPLES else None
    forked = _validate_forked(data, parts, tmpdir) if parts else None
    if forked is not None:
        report, text = forked
    else:
        report, text = _pyshacl(data, shapes_graph)
    _bind_report_prefixes(report)
    violations = tuple(sorted(_results(report), key=_sort_key))
    conforms = not any(v.severity == "Violation" for v in violations)
    return ValidationResult(conforms=conforms, violations=violations, report_graph=report, text=str(text))


def validation_processes() -> int:
    """Processes for validation on this machine: one per core, at most four (the shapes are few)."""
    return max(1, min(4, os.cpu_count() or 1))


#: Below this many triples, forking costs more than it saves.
PARALLEL_MIN_TRIPLES = 2000

_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)


def _pyshacl(data: Graph, shapes_graph: Graph) -> tuple[Graph, str]:
    """pySHACL with no inference, the shapes compiled once per process (see :func:`_compiled`)."""
    try:
        from pyshacl.graph_abstraction import DataGraph

        validator = pyshacl.Validator(DataGraph.from_rdflib(data), shacl_graph=Graph(), options={
            "inference": "none", "allow_warnings": True, "abort_on_first": False, "inplace": True})
        validator.shacl_graph = _compiled(shapes_graph)
        _conforms, report, text = validator.run()
    except Exception as exc:  # pyshacl reports bad shapes with its own exception types
        raise ValidationError(f"SHACL validation could not run: {exc}") from exc
    assert isinstance(report, Graph)
    return report, str(text)


_COMPILED: dict[int, tuple[Graph, object]] = {}


def _compiled(shapes_graph: Graph) -> object:
    """pySHACL's compiled form of ``shapes_graph`` (its ShapesGraph), made once per process and graph.

    A build validates each article on its own: compiling the shapes for every article cost more than
    validating it. The compiled shapes hold no state of a validation run. pySHACL also looks each
    shape's constraint parameters up in a list, once per shape per focus node; the same parameters
    as a set (what pySHACL reads from its ``CONSTRAINT_PARAMS`` hook when present) make that look-up
    constant time. Together: several times faster on one article's graph.
    """
    hit = _COMPILED.get(id(shapes_graph))
    if hit is not None and hit[0] is shapes_graph:
        return hit[1]
    import pyshacl.shape
    from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS, CONSTRAINT_PARAMETERS_MAP
    from pyshacl.rdfutil import load_from_source
    from pyshacl.shapes_graph import ShapesGraph

    pyshacl.shape.CONSTRAINT_PARAMS = (frozenset(ALL_CONSTRAINT_PARAMETERS), CONSTRAINT_PARAMETERS_MAP)
    compiled = ShapesGraph(load_from_source(shapes_graph, multigraph=True, do_owl_imports=False))
    _ = compiled.shapes  # harvest now
    _COMPILED[id(shapes_graph)] = (shapes_graph, compiled)
    return compiled


def _shares(data: Graph, shapes_graph: Graph, processes: int) -> list[Graph] | None:
    """``processes`` copies of the shapes graph, each keeping the targets of its share of the shapes
    (balanced by the number of nodes they target); None when the shapes cannot be shared out safely."""
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        return None
    classes = {RDFS.Class, OWL.Class}
    if any((node, RDF.type, c) in shapes_graph for c in classes
           for node in set(shapes_graph.subjects(RDF.type, SH.NodeShape))):
        return None  # implicit class targets: keep to one process
    targeted = sorted({s for t in _TARGETS for s in shapes_graph.subjects(t, None)}, key=str)
    if len(targeted) < 2:
        return None
    counts: Counter[Node] = Counter(o for _, o in data.subject_objects(RDF.type))

    def cost(shape: Node) -> int:
        nodes = sum(counts[c] for c in shapes_graph.objects(shape, SH.targetClass))
        nodes += sum(1 for t in _TARGETS[1:] for _ in shapes_graph.objects(shape, t))
        return max(1, nodes) * (1 + sum(1 for _ in shapes_graph.objects(shape, SH.property)))

    n = min(processes, len(targeted))
    bins: list[list[Node]] = [[] for _ in range(n)]
    loads = [0] * n
    costs = {shape: cost(shape) for shape in targeted}
    for shape in sorted(targeted, key=lambda x: (-costs[x], str(x))):  # longest first, onto the lightest share
        i = loads.index(min(loads))
        bins[i].append(shape)
        loads[i] += costs[shape]
    out: list[Graph] = []
    for share in bins:
        keep = set(share)
        g = Graph()
        for t in shapes_graph:
            if t[1] in _TARGETS and t[0] not in keep:
                continue
            g.add(t)
        for prefix, ns in shapes_graph.namespaces():
            g.bind(prefix, ns)
        out.append(g)
    return out


def _validate_in_child(data: Graph, shapes_graph: Graph, out: IO[bytes], parent: int) -> None:
    import gc

    from kg.build.procs import child_setup

    child_setup(parent)  # dies with the parent; Ctrl-C is the parent's to handle
    gc.freeze()  # the inherited graph is never garbage: collecting it would only copy its pages
    try:
        report, text = _pyshacl(data, shapes_graph)
        out.write(json.dumps({"report": report.serialize(format="nt"), "text": text}).encode())
        out.flush()
    except MemoryError:
        os._exit(_OUT_OF_MEMORY)  # said once, by the parent: no traceback from each process


def _validate_forked(data: Graph, parts: list[Graph], tmpdir: Path | None = None) -> tuple[Graph, str] | None:
    """Validate ``data`` against each shapes graph of ``parts`` in its own forked process, and merge the
    reports into one. None when a process failed (the caller then validates in this process)."""
    import multiprocessing as mp
    import tempfile

    from kg.build.procs import signals_deferred, stop

    ctx = mp.get_context("fork")
    procs = []
    with contextlib.ExitStack() as stack:
        # unlinked files: nothing is left behind, whatever happens to this process
        files = [stack.enter_context(tempfile.TemporaryFile(prefix="kg-shacl-", dir=tmpdir)) for _ in parts]
        stack.callback(stop, procs)
        with signals_deferred():  # a Ctrl-C in a fork handler would be lost: it waits until all are started
            for shapes_graph, fh in zip(parts, files):
                proc = ctx.Process(target=_validate_in_child, args=(data, shapes_graph, fh, os.getpid()),
                                   daemon=True)
                proc.start()
                procs.append(proc)
        for proc in procs:
            proc.join()
        if any(proc.exitcode == _OUT_OF_MEMORY for proc in procs):
            raise MemoryError("a validation process ran out of memory")  # the same in this one: no retry here
        if any(proc.exitcode != 0 for proc in procs):
            return None
        outputs = []
        for fh in files:
            fh.seek(0)
            outputs.append(json.loads(fh.read()))
    report = merge_reports(out["report"] for out in outputs)
    conforms = (None, SH.conforms, Literal(True)) in report
    texts = [out["text"] for out in outputs]
    results = sum(1 for _ in report.objects(None, SH.result))
    text = "Validation Report\nConforms: " + str(conforms) + (f"\nResults ({results}):\n" if results else "\n")
    text += "".join(t.split("\n", 3)[3] if t.count("\n") >= 3 and "Results (" in t else "" for t in texts)
    return report, text


#: Memory taken by parsing and validating an RDF file, per byte of the file (measured: a 200 MB Turtle
#: file of a kg build took 5.9 GB; rdflib holds each triple in several indexes, pySHACL adds its own).
MEMORY_PER_FILE_BYTE = 30
#: Exit code of a forked validation process that ran out of memory.
_OUT_OF_MEMORY = 75


def memory_available() -> int:
    """Bytes this process may still take: what the system has available (MemAvailable), less within a
    cgroup's memory.max or this process's address-space limit (ulimit -v) when they are lower."""
    import resource

    avail = 1 << 62
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            avail = min(avail, int(limit) - used)
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        size = 0
        with contextlib.suppress(OSError, ValueError, IndexError):
            status = Path("/proc/self/status").read_text()
            size = int(next(line for line in status.splitlines() if line.startswith("VmSize:")).split()[1]) * 1024
        avail = min(avail, soft - size)
    return max(0, avail)


def check_memory(path: Path) -> None:
    """ValidationError when validating ``path`` would take more memory than this process can have: a
    clear refusal at once rather than a MemoryError (or the system's OOM killer) minutes later."""
    size = path.stat().st_size
    need = size * MEMORY_PER_FILE_BYTE
    have = memory_available()
    if need > have:
        raise ValidationError(
            f"{path}: {size / 1e6:,.0f} MB; validating it takes about {need / 1e9:,.1f} GB of memory "
            f"({MEMORY_PER_FILE_BYTE} times its size), more than the {have / 1e9:,.1f} GB this process can have; "
            "validate a smaller file, or on a machine (or under a limit) with more memory. A build validates "
            "article by article and needs no such memory: kg build --statements FILE.jsonl -o OUTDIR")


def validate_file(path: Path, shapes: Graph | None = None, *, processes: int = 1) -> ValidationResult:
    """Parse an RDF file (format from its extension) and validate it.

    Named graphs of TriG / N-Quads files are merged: the shapes apply to the whole graph. A file too
    large for the memory this process can have is refused before it is read (:func:`check_memory`);
    running out of memory all the same is a ValidationError, not a MemoryError.
    """
    path = Path(path)
    if path.is_file():
        check_memory(path)
    try:
        return validate_graph(read_graph(path), shapes, processes=processes)
    except MemoryError:
        raise ValidationError(f"{path}: ran out of memory while validating it; validate a smaller file, or "
                              "with more memory") from None


def read_graph(path: Path) -> Graph:
    """Parse ``path`` into one graph; raise ValidationError naming the file when it cannot be read."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise ValidationError(f"{path}: unknown RDF file extension {path.suffix!r}; use one of {known}")
    if not path.exists():
        raise ValidationError(f"{path}: file not found")
    if not path.is_file():
        raise ValidationError(f"{path}: not a regular file")
    try:
        return parse_rdf_file(path, fmt)
    except Exception as exc:  # rdflib raises many unrelated types for bad syntax
        raise ValidationError(f"{path}: cannot parse as {fmt}: {exc}") from exc


def _bind_report_prefixes(graph: Graph) -> None:
    bind_prefixes(graph)
    graph.bind("dipsh", DIPSH, override=True, replace=True)
    graph.bind("sh", SH, override=True, replace=True)


def _results(report: Graph) -> Iterator[Violation]:
    """The top-level results of the report (nested sh:detail results are left out)."""
    results = {
        r for rep in report.subjects(RDF.type, SH.ValidationReport) for r in report.objects(rep, SH.result)
    }
    for result in results:
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        value = report.value(result, SH.value)
        severity = report.value(result, SH.resultSeverity)
        shape = report.value(result, SH.sourceShape)
        yield Violation(
            focus_node=str(focus),
            path=_path_text(report, path) if path is not None else None,
            value=_value_text(report, value) if value is not None else None,
            message=_message(report.objects(result, SH.resultMessage)),
            severity=_SEVERITY.get(severity, str(severity)),  # type: ignore[arg-type]
            source_shape=short_name(shape) if shape is not None else "",
        )


def _sort_key(v: Violation) -> tuple[int, str, str, str, str]:
    return (_SEVERITY_ORDER.get(v.severity, 3), v.focus_node, v.path or "", v.message, v.value or "")


def _message(messages: Iterable[Node]) -> str:
    """The English message, else an untagged one, else any."""
    literals = [m for m in messages if isinstance(m, Literal)]
    for wanted in ("en", None):
        for m in literals:
            if m.language == wanted:
                return str(m)
    return str(literals[0]) if literals else ""


def _path_text(graph: Graph, path: Node) -> str:
    """A SHACL property path as text: ``dip:x``, ``^dip:x``, ``dip:x/dip:y``, ``(dip:x|dip:y)``."""
    if isinstance(path, URIRef):
        return short_name(path)
    inverse = graph.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + _path_text(graph, inverse)
    alternative = graph.value(path, SH.alternativePath)
    if alternative is not None:
        return "(" + "|".join(_path_text(graph, p) for p in Collection(graph, alternative)) + ")"
    for predicate, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = graph.value(path, predicate)
        if inner is not None:
            return _path_text(graph, inner) + suffix
    if isinstance(path, BNode) and graph.value(path, RDF.first) is not None:
        return "/".join(_path_text(graph, p) for p in Collection(graph, path))
    return str(path)


def _value_text(graph: Graph, value: Node) -> str:
    if isinstance(value, Literal):
        return value.n3(graph.namespace_manager)
    return str(value)


def short_name(node: Node) -> str:
    """``node`` as ``prefix:local`` with the project prefixes (``id:meeting/ab12``), else its text."""
    text = str(node)
    if isinstance(node, URIRef):
        for prefix, iri in _SHORT_PREFIXES:
            if text.startswith(iri) and len(text) > len(iri):
                return f"{prefix}:{text[len(iri) :]}"
    return text


# ---------------------------------------------------------------------------------------------
# readable summary
# ---------------------------------------------------------------------------------------------


def summarize(result: ValidationResult, data: Graph | None = None, limit: int = 50) -> str:
    """A readable report: a headline, then one line per result (focus node, path, message).

    With ``data``, each result is followed by the evidence sentence (``oa:exact``) of the
    annotation that supports the focus node, so a reader sees which statement was wrong.
    """
    counts = Counter(v.severity for v in result.violations)
    parts = [f"{counts[s]} {s.lower()}{'' if counts[s] == 1 else 's'}" for s in _SEVERITY_ORDER if counts[s]]
    headline = "Conforms: " + ("yes" if result.conforms else "no")
    lines = [headline + (f" ({', '.join(parts)})" if parts else "")]
    lines.extend(evidence_lines(result, data, limit))
    hidden = len(result.violations) - max(limit, 0)
    if hidden > 0:
        lines.append(f"... and {hidden} more")
        by_shape = Counter(v.source_shape for v in result.violations).most_common(5)
        lines.append("most frequent: " + ", ".join(f"{shape} ({n})" for shape, n in by_shape))
    return "\n".join(lines)


def evidence_lines(result: ValidationResult, data: Graph | None = None, limit: int = 50) -> list[str]:
    """One line per result (the first ``limit``), each followed by its evidence sentences from ``data``."""
    lines = []
    for v in result.violations[: max(limit, 0)]:
        focus = URIRef(v.focus_node) if "://" in v.focus_node else None
        where = short_name(focus) if focus is not None else v.focus_node
        line = f"[{v.severity}] {where}"
        if v.path:
            line += f" {v.path}"
        line += f": {v.message}"
        if v.value is not None and v.value != v.focus_node:
            line += f" (value: {short_name(URIRef(v.value)) if '://' in v.value else v.value})"
        lines.append(line)
        if data is not None and focus is not None:
            for doc, span, sentence in evidence_sentences(data, focus):
                lines.append(f"    evidence {doc}{span}: {sentence}")
    return lines


def summary_of(violations: list[Violation], lines: list[str], limit: int = 50) -> str:
    """The text of :func:`summarize` for results gathered article by article: ``lines`` are their
    :func:`evidence_lines`, in the build's order."""
    counts = Counter(v.severity for v in violations)
    parts = [f"{counts[s]} {s.lower()}{'' if counts[s] == 1 else 's'}" for s in _SEVERITY_ORDER if counts[s]]
    conforms = not counts["Violation"]
    out = ["Conforms: " + ("yes" if conforms else "no") + (f" ({', '.join(parts)})" if parts else "")]
    shown = 0
    for line in lines:
        if not line.startswith("    "):
            shown += 1
            if shown > limit:
                break
        out.append(line)
    hidden = len(violations) - max(limit, 0)
    if hidden > 0:
        out.append(f"... and {hidden} more")
        by_shape = Counter(v.source_shape for v in violations).most_common(5)
        out.append("most frequent: " + ", ".join(f"{shape} ({n})" for shape, n in by_shape))
    return "\n".join(out)


def merge_reports(parts: Iterable[bytes | str]) -> Graph:
    """One SHACL report from the N-Triples reports of several validations (articles, or shares of the
    shapes): one sh:ValidationReport holding every result."""
    merged = Graph()
    for nt in parts:
        merged.parse(data=nt, format="nt")
    report = Graph()
    node = BNode()
    reports = set(merged.subjects(RDF.type, SH.ValidationReport))
    conforms = all(merged.value(r, SH.conforms) == Literal(True) for r in reports)
    report.add((node, RDF.type, SH.ValidationReport))
    report.add((node, SH.conforms, Literal(conforms)))
    for s, p, o in merged:
        if s in reports:
            if p == SH.result:
                report.add((node, p, o))
        else:
            report.add((s, p, o))
    _bind_report_prefixes(report)
    return report


def report_results(report: Graph) -> list[Violation]:
    """The results of a report graph, sorted as validation sorts them."""
    return sorted(_results(report), key=_sort_key)


def evidence_sentences(data: Graph, node: URIRef) -> list[tuple[str, str, str]]:
    """The evidence of ``node`` as sorted (document, " [start-end]", sentence) triples.

    ``node`` may be a statement (the ``oa:hasBody`` of annotations), an annotation, its target
    or one of its selectors, so a failing piece of evidence also shows its sentence.
    """
    annotations = set(data.subjects(OA.hasBody, node))
    if (node, RDF.type, OA.Annotation) in data:
        annotations.add(node)
    targets = {t for a in annotations for t in data.objects(a, OA.hasTarget)}
    targets |= set(data.subjects(OA.hasSelector, node))
    if data.value(node, OA.hasSource) is not None:
        targets.add(node)
    found: set[tuple[str, str, str]] = set()
    for target in targets:
        source = data.value(target, OA.hasSource)
        doc = ""
        if source is not None:
            identifier = data.value(source, DCTERMS.identifier)
            doc = str(identifier) if identifier is not None else short_name(source)
        start = end = None
        sentences = []
        for selector in data.objects(target, OA.hasSelector):
            start = data.value(selector, OA.start, default=start)
            end = data.value(selector, OA.end, default=end)
            sentences.extend(str(x) for x in data.objects(selector, OA.exact))
        span = f" [{start}-{end}]" if start is not None and end is not None else ""
        for sentence in sentences:
            found.add((doc, span, sentence))
    return sorted(found)


__all__ = [
    "DIPSH",
    "FORMATS",
    "SHAPES_DIR",
    "ValidationResult",
    "Violation",
    "evidence_sentences",
    "load_shapes",
    "read_graph",
    "short_name",
    "summarize",
    "validate_file",
    "validate_graph",
    "validation_processes",
]
