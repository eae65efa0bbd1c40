"""RDF files: Turtle, TriG (one named graph per document), JSON-LD, each written atomically.

Serialisations are made deterministic: the Turtle and TriG serialisers sort their subjects,
and JSON-LD is written from a graph whose nodes are sorted by IRI, so rebuilding the same
input gives byte-identical files.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from rdflib import Dataset, Graph

from kg.errors import WriteError
from kg.namespaces import bind_prefixes

_UMASK = os.umask(0)
os.umask(_UMASK)


#: RDF file extensions kg reads, and their rdflib format names.
RDF_FORMATS: dict[str, str] = {
    ".ttl": "turtle", ".turtle": "turtle", ".trig": "trig", ".nq": "nquads", ".nt": "nt", ".n3": "n3",
    ".jsonld": "json-ld", ".json": "json-ld", ".rdf": "xml", ".owl": "xml", ".xml": "xml",
}


def parse_rdf_file(path: Path, fmt: str) -> Graph:
    """Parse one RDF file into one graph (the named graphs of TriG / N-Quads merged).

    Raises whatever the parser raises; callers turn it into their stage's KgError naming the file.
    """
    if fmt in ("trig", "nquads"):
        dataset = Dataset()
        dataset.parse(path, format=fmt)
        return union_graph(dataset)
    return Graph().parse(path, format=fmt)


def union_graph(dataset: Dataset) -> Graph:
    """All triples of every graph of ``dataset`` in one graph, with its prefixes."""
    graph = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    for prefix, iri in dataset.namespaces():
        graph.bind(prefix, iri)
    return graph


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:  # also an interrupt: never leave the temp file behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise WriteError(f"{path}: cannot write: {exc.strerror or exc}") from exc
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def turtle_bytes(g: Graph) -> bytes:
    bind_prefixes(g)
    return g.serialize(format="turtle", encoding="utf-8")


def trig_bytes(ds: Dataset) -> bytes:
    """TriG with the named graphs in IRI order (rdflib's own order depends on hashing), each graph's
    triples written by the Turtle serialiser, so the file is the same from run to run."""
    prefixes: dict[str, str] = {}
    blocks: list[str] = []
    graphs = sorted((g for g in ds.graphs() if len(g)), key=lambda g: str(g.identifier))
    for g in graphs:
        sub = Graph(namespace_manager=ds.namespace_manager)
        for t in g:
            sub.add(t)
        body = sub.serialize(format="turtle")
        lines = body.split("\n")  # only real line ends: a literal may hold U+2028 and the like
        for line in lines:
            if line.startswith("@prefix "):
                name, iri = line[len("@prefix "):].rstrip(" .").split(": ", 1)
                prefixes[name] = iri
        # not indented: a multi-line literal must stay as it is
        triples = "\n".join(line for line in lines if not line.startswith("@prefix "))
        ident = g.identifier
        head = "{" if str(ident) == "urn:x-rdflib:default" else f"<{ident}> {{"
        blocks.append(f"{head}\n{triples.strip(chr(10))}\n}}\n")
    header = "".join(f"@prefix {name}: {iri} .\n" for name, iri in sorted(prefixes.items()))
    return (header + "\n" + "\n".join(blocks)).encode("utf-8")


def jsonld_bytes(g: Graph) -> bytes:
    """JSON-LD with a context of the project's prefixes, nodes sorted by @id."""
    bind_prefixes(g)
    data = json.loads(g.serialize(format="json-ld", auto_compact=True))
    if isinstance(data, dict) and isinstance(data.get("@graph"), list):
        data["@graph"].sort(key=lambda n: str(n.get("@id", "")))
        for node in data["@graph"]:
            for k, v in node.items():
                if isinstance(v, list):
                    node[k] = sorted(v, key=lambda x: json.dumps(x, sort_keys=True, ensure_ascii=False))
    return (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
