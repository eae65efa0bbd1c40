"""RDF files: Turtle, TriG (one named graph per document), JSON-LD, each written atomically; and
reading any RDF file safely (nothing is fetched, entity expansion is bounded).

pyoxigraph writes the three formats from triples sorted here (subjects by IRI, rdf:type first),
so rebuilding the same input gives byte-identical files; JSON-LD is compacted with the prefixes
used. A graph with blank nodes (a SHACL report) is written by rdflib, which nests them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat as pyexpat

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from kg import outputs
from kg.namespaces import bind_prefixes

#: RDF file extensions kg reads, and their rdflib format names.
RDF_FORMATS: dict[str, str] = {
    ".ttl": "turtle", ".turtle": "turtle", ".trig": "trig", ".nq": "nquads", ".nt": "nt", ".n3": "n3",
    ".jsonld": "json-ld", ".json": "json-ld", ".rdf": "xml", ".owl": "xml", ".xml": "xml",
}


#: pyoxigraph's parser for each format name of RDF_FORMATS.
OX_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE, "trig": ox.RdfFormat.TRIG, "nquads": ox.RdfFormat.N_QUADS,
    "nt": ox.RdfFormat.N_TRIPLES, "n3": ox.RdfFormat.N3, "json-ld": ox.RdfFormat.JSON_LD,
    "xml": ox.RdfFormat.RDF_XML,
}

#: Characters one XML entity of an RDF/XML file may stand for, all its references expanded.
MAX_ENTITY_CHARS = 64 * 1024
#: Characters entity references may add to one RDF/XML file (on top of its own length).
MAX_EXPANSION_CHARS = 16 * 1024 * 1024


class RdfRefusedError(ValueError):
    """An RDF file asks for something kg never does: load a JSON-LD context or an XML entity from
    elsewhere, or expand entities past the bounds above."""


def parse_rdf_quads(path: Path, fmt: str, prefixes: dict[str, str] | None = None) -> Iterator[ox.Quad]:
    """The quads of one RDF file, parsed by pyoxigraph as they are read (``fmt``: a name of RDF_FORMATS).

    Nothing is dereferenced: a JSON-LD context (or ``@import``) named by IRI or file path is
    refused, and so are RDF/XML external entities; internal XML entities are expanded only within
    MAX_ENTITY_CHARS each and MAX_EXPANSION_CHARS in all (billion laughs). Relative IRIs resolve
    against the file's own ``file:`` IRI, which is never read. ``prefixes``, when given, receives
    the file's prefixes once it is read. Raises :class:`RdfRefusedError`,
    ``SyntaxError`` (bad RDF, with line and column) or ``OSError``.
    """
    path = Path(path)
    if fmt not in OX_FORMATS:
        raise ValueError(f"unknown RDF format {fmt!r}")
    if fmt == "xml":
        _check_xml_entities(path)
    try:
        parser = ox.parse(path=str(path), format=OX_FORMATS[fmt], base_iri=path.resolve().as_uri())
        for quad in parser:
            if fmt == "n3" and isinstance(quad.graph_name, ox.BlankNode):
                continue  # the inside of an N3 formula ({ … } => { … }) is quoted, not asserted
            yield quad
        if prefixes is not None:
            prefixes.update(parser.prefixes)
    except SyntaxError as exc:
        if "LoadDocumentCallback" in str(exc):
            raise RdfRefusedError(
                f"{_remote_context(path)} is not loaded: kg reads JSON-LD only with its context inside the "
                "file and never fetches one from the network or from other files; inline the context "
                "(as graph.jsonld does)"
            ) from None
        raise


def parse_rdf_file(path: Path, fmt: str) -> Graph:
    """Parse one RDF file into one graph (the named graphs of TriG / N-Quads merged), safely.

    See :func:`parse_rdf_quads` for what is refused. Raises what it raises (and ``ValueError`` for
    a term rdflib cannot hold); callers turn it into their stage's KgError naming the file.
    """
    graph = bind_prefixes(Graph())
    terms = RdflibTerms()
    graph.addN((terms(q.subject), terms(q.predicate), terms(q.object), graph)
               for q in parse_rdf_quads(path, fmt))
    return graph


class RdflibTerms:
    """rdflib terms for pyoxigraph terms, each distinct term converted once; literals keep their
    exact lexical form."""

    def __init__(self) -> None:
        self.cache: dict[object, Node] = {}

    def __call__(self, term: object) -> Node:
        n = self.cache.get(term)
        if n is None:
            n = self.cache[term] = rdflib_term(term)
        return n


def rdflib_term(term: object) -> Node:
    """An rdflib term for a pyoxigraph term; ``ValueError`` for one rdflib has no class for (a triple term)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        dt = term.datatype.value
        if dt == _XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(dt), normalize=False)
    raise ValueError(f"unsupported RDF term {term!r} (kg reads RDF 1.1: no triple terms or variables)")


_XSD_STRING = str(XSD.string)


def _remote_context(path: Path) -> str:
    """The first context a JSON-LD file names by reference, for the error message (it is never read)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(4 << 20)
        doc = json.loads(data)
    except (OSError, ValueError):
        return "a JSON-LD context named by reference"
    stack: list[object] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("@context", "@import") and isinstance(value, str):
                    return f"the JSON-LD context <{value}>"
                if key == "@context" and isinstance(value, list):
                    for v in value:
                        if isinstance(v, str):
                            return f"the JSON-LD context <{v}>"
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return "a JSON-LD context named by reference"


_ENTITY_REF = re.compile(r"&([^\s;&#]+);")


def _check_xml_entities(path: Path) -> None:
    """Refuse an XML file whose entities would be fetched or expand past the bounds, before it is parsed.

    expat reads the file once with the expansion of entities in text switched off (a default handler
    sees each reference instead); every declaration is checked as it comes, so a nested definition
    (billion laughs) is refused before anything is expanded.
    """
    sizes: dict[str, int] = {}
    added = 0
    limit = MAX_EXPANSION_CHARS

    def declared(name: str, is_parameter: int, value: str | None, base: str | None, system_id: str | None,
                 public_id: str | None, notation: str | None) -> None:
        if is_parameter or value is None:
            where = f" ({system_id})" if system_id else ""
            raise RdfRefusedError(
                f"the XML entity {'%' if is_parameter else '&'}{name};{where} is not loaded: kg never reads "
                "external or parameter entities; write the value into the file"
            )
        size = len(value)
        for m in _ENTITY_REF.finditer(value):
            size += sizes.get(m.group(1), 0) - len(m.group(0))
        if size > MAX_ENTITY_CHARS:
            raise RdfRefusedError(
                f"the XML entity &{name}; expands to more than {MAX_ENTITY_CHARS} characters "
                "(an entity expansion attack such as billion laughs?); refused"
            )
        sizes[name] = size

    def text(data: str) -> None:  # entity references in text arrive here unexpanded
        nonlocal added
        if data.startswith("&") and data.endswith(";") and data[1:-1] in sizes:
            added += sizes[data[1:-1]]
            if added > limit:
                raise _too_much()

    def element(name: str, attrs: dict[str, str]) -> None:
        nonlocal added
        added += sum(len(v) for v in attrs.values())
        if added > limit:
            raise _too_much()

    def _too_much() -> RdfRefusedError:
        return RdfRefusedError(
            f"entity references expand to more than {MAX_EXPANSION_CHARS} characters beyond the file's own "
            "(an entity expansion attack?); refused"
        )

    parser = pyexpat.ParserCreate()
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = declared
    parser.UnparsedEntityDeclHandler = lambda name, *rest: declared(name, 0, None, None, rest[1], None, None)
    parser.DefaultHandler = text
    parser.StartElementHandler = element
    try:
        size = path.stat().st_size
        limit = MAX_EXPANSION_CHARS + size  # attribute values count whole: the file's own text is allowed
        with path.open("rb") as fh:
            parser.ParseFile(fh)
    except pyexpat.ExpatError as exc:
        raise SyntaxError(f"not well-formed XML: {exc}") from None


def union_graph(dataset: Dataset) -> Graph:
    """All triples of every graph of ``dataset`` in one graph, with its prefixes."""
    graph = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    for prefix, iri in dataset.namespaces():
        graph.bind(prefix, iri)
    return graph


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and an atomic rename
    (kg.outputs: a device node, FIFO or socket there is refused)."""
    outputs.atomic_write_bytes(path, data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


class _BlankNodes(Exception):
    """The graph has blank nodes (rdflib's serialiser writes them nested, ``[ ... ]``) or a term pyoxigraph
    refuses (a malformed language tag): rdflib writes it."""


def _split_iri(value: str) -> tuple[str, str]:
    """(namespace, local name) at the last / or #: the namespaces kg binds all end there."""
    cut = max(value.rfind("/"), value.rfind("#")) + 1
    return value[:cut], value[cut:]


class _Terms:
    """rdflib terms as pyoxigraph terms (each distinct term converted once), and the prefixes used."""

    def __init__(self, namespaces: Iterable[tuple[str, str]]) -> None:
        self.cache: dict[Node, ox.NamedNode | ox.Literal] = {}
        self.by_ns = {}
        for prefix, ns in sorted(namespaces):
            self.by_ns.setdefault(str(ns), prefix)
        self.used: dict[str, str] = {}

    def iri(self, value: str) -> ox.NamedNode:
        ns, _ = _split_iri(value)
        prefix = self.by_ns.get(ns)
        if prefix is not None:
            self.used[prefix] = ns
        return ox.NamedNode(value)

    def __call__(self, t: Node) -> ox.NamedNode | ox.Literal:
        n = self.cache.get(t)
        if n is not None:
            return n
        try:
            if isinstance(t, URIRef):
                n = self.iri(str(t))
            elif isinstance(t, Literal):
                if t.language:
                    n = ox.Literal(str(t), language=t.language)
                elif t.datatype is not None and t.datatype != XSD.string:
                    n = ox.Literal(str(t), datatype=self.iri(str(t.datatype)))
                else:
                    n = ox.Literal(str(t))
            else:
                raise _BlankNodes
        except ValueError as exc:
            raise _BlankNodes from exc
        self.cache[t] = n
        return n

    def prefixes(self) -> dict[str, str]:
        return dict(sorted(self.used.items()))


_TYPE = RDF.type  # rdflib's namespace attribute lookup is slow in a sort key


def _triple_order(t: tuple[Node, Node, Node]) -> tuple[str, bool, str, bool, str, str, str]:
    """Subjects by IRI, rdf:type first, then predicates and objects (IRIs before literals)."""
    s, p, o = t
    if isinstance(o, Literal):
        return (str(s), p != _TYPE, str(p), True, str(o), o.language or "", o.datatype or "")
    return (str(s), p != _TYPE, str(p), False, str(o), "", "")


def _ox_triples(g: Graph, terms: _Terms) -> list[ox.Triple]:
    return [ox.Triple(terms(s), terms(p), terms(o)) for s, p, o in sorted(g, key=_triple_order)]


def turtle_bytes(g: Graph) -> bytes:
    """Turtle, subjects in IRI order, with the project's prefixes (those used).

    Graphs without blank nodes (every graph kg builds) are written by pyoxigraph, which is many
    times faster than rdflib's serialiser; a graph with blank nodes (a SHACL report) by rdflib.
    """
    return graph_files(g, ("ttl",))["ttl"]


def graph_files(g: Graph, kinds: Iterable[str] = ("ttl", "jsonld")) -> dict[str, bytes]:
    """``g`` as Turtle (``ttl``) and / or JSON-LD (``jsonld``), sorting and converting its triples once."""
    kinds = tuple(kinds)
    bind_prefixes(g)
    terms = _Terms(g.namespaces())
    try:
        triples = _ox_triples(g, terms)
    except _BlankNodes:
        return {k: g.serialize(format="turtle" if k == "ttl" else "json-ld", encoding="utf-8",
                               **({} if k == "ttl" else {"auto_compact": True})) for k in kinds}
    out: dict[str, bytes] = {}
    if "ttl" in kinds:
        out["ttl"] = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=terms.prefixes())
    if "jsonld" in kinds:
        out["jsonld"] = _jsonld(triples, terms.prefixes())
    return out


def trig_bytes(ds: Dataset) -> bytes:
    """TriG, one block per named graph in IRI order, each graph's subjects in IRI order."""
    bind_prefixes(ds)
    terms = _Terms(ds.namespaces())
    quads: list[ox.Quad] = []
    for g in sorted((g for g in ds.graphs() if len(g)), key=lambda g: str(g.identifier)):
        name = ox.DefaultGraph() if g.identifier == DATASET_DEFAULT_GRAPH_ID else ox.NamedNode(str(g.identifier))
        try:
            quads.extend(ox.Quad(terms(s), terms(p), terms(o), name) for s, p, o in sorted(g, key=_triple_order))
        except _BlankNodes:
            return ds.serialize(format="trig", encoding="utf-8")
    return ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=terms.prefixes())


def jsonld_bytes(g: Graph) -> bytes:
    """Compact JSON-LD: a context of the prefixes used, nodes sorted by ``@id``, one node per line.

    pyoxigraph writes the expanded form; it is compacted here with prefixes only (no terms), so
    every key is a compact IRI (``dip:participant``), ``rdf:type`` becomes ``@type``, plain strings
    become JSON strings and a single value is not wrapped in a list.
    """
    return graph_files(g, ("jsonld",))["jsonld"]


def _jsonld(triples: list[ox.Triple], prefixes: dict[str, str]) -> bytes:
    expanded = json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD))
    compact = _Compactor(prefixes)
    context = json.dumps(prefixes, ensure_ascii=False, indent=1).replace("\n", "\n ")
    # one node per line: readable, and json's C encoder does the work (indent= would not use it)
    nodes = ",\n  ".join(json.dumps(n, ensure_ascii=False) for n in compact.nodes(expanded))
    return f'{{\n "@context": {context},\n "@graph": [\n  {nodes}\n ]\n}}\n'.encode()


class _Compactor:
    """JSON-LD compaction of expanded node objects with a context of prefixes only."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        self.by_ns = {ns: p for p, ns in prefixes.items()}
        self.cache: dict[str, str] = {}

    def iri(self, value: str) -> str:
        out = self.cache.get(value)
        if out is None:
            ns, local = _split_iri(value)
            prefix = self.by_ns.get(ns)
            # a compact IRI whose suffix starts with // would read as an absolute IRI
            out = f"{prefix}:{local}" if prefix is not None and not local.startswith("//") else value
            self.cache[value] = out
        return out

    def value(self, v: dict[str, str]) -> str | dict[str, str]:
        if "@id" in v:
            return {"@id": self.iri(v["@id"])}
        if "@type" in v:
            return {"@type": self.iri(v["@type"]), "@value": v["@value"]}
        if "@language" in v:
            return {"@language": v["@language"], "@value": v["@value"]}
        return v["@value"]

    def node(self, n: dict, out: dict | None = None) -> dict:
        out = out if out is not None else {"@id": self.iri(n["@id"])}
        for key, values in n.items():
            if key == "@id":
                continue
            if key == str(RDF.type) and all("@id" in v for v in values):
                key, vals = "@type", [self.iri(v["@id"]) for v in values]
            else:
                key, vals = self.iri(key), [self.value(v) for v in values]
            if key in out:  # the same subject again: merge its values
                old = out[key] if isinstance(out[key], list) else [out[key]]
                vals = old + vals
            out[key] = vals[0] if len(vals) == 1 else vals
        return out

    def nodes(self, expanded: list[dict]) -> list[dict]:
        out: dict[str, dict] = {}
        for n in expanded:
            ident = self.iri(n["@id"])
            out[ident] = self.node(n, out.get(ident))
        return [out[k] for k in sorted(out)]


# ---------------------------------------------------------------------------------------------
# streamed writing: a build writes its files article by article (kg.build.pipeline, kg.build.merge)
# ---------------------------------------------------------------------------------------------


def prefix_header(prefixes: dict[str, str]) -> bytes:
    """The ``@prefix`` lines that open a streamed Turtle or TriG file, in the writer's own format."""
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in prefixes.items()).encode()


def strip_prefixes(data: bytes) -> bytes:
    """Serialised Turtle or TriG without its leading ``@prefix`` lines (the file's header has them)."""
    start = 0
    while data.startswith(b"@prefix ", start):
        start = data.index(b"\n", start) + 1
    return data[start:]


def ox_order(t: ox.Triple) -> tuple[bool, str, bool, str, str, str]:
    """The order of one subject's triples in every file: rdf:type first, then predicates and objects
    (IRIs before literals), as :func:`_triple_order` sorts rdflib triples."""
    o = t.object
    if isinstance(o, ox.Literal):
        return (t.predicate.value != _RDF_TYPE, t.predicate.value, True, o.value, o.language or "",
                o.datatype.value if o.datatype else "")
    return (t.predicate.value != _RDF_TYPE, t.predicate.value, False, o.value, "", "")


_RDF_TYPE = str(RDF.type)


@dataclass(frozen=True)
class ArticleRDF:
    """One article's graph serialised for every output: its named graph (TriG block and N-Quads), and
    its part of the union graph: the subjects only it has (Turtle, JSON-LD node objects) and the
    triples of subjects other articles may share (N-Triples, merged later)."""

    trig: bytes
    nquads: bytes
    local_ttl: bytes
    local_jsonld: bytes
    shared_nt: bytes


def article_rdf(g: Graph, name: str, prefixes: dict[str, str], shared: Callable[[str], bool]) -> ArticleRDF:
    """Serialise one article's graph ``g`` (named ``name`` in the dataset); ``shared`` tells which subjects
    (by IRI) go to the merge. Triples are sorted (subjects by IRI, rdf:type first), so the bytes depend
    on the graph only."""
    terms = _Terms(prefixes.items())
    rows = sorted(g, key=_triple_order)
    triples = [ox.Triple(terms(s), terms(p), terms(o)) for s, p, o in rows]
    graph = ox.NamedNode(name)
    quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
    local = [t for t in triples if not shared(t.subject.value)]
    common = [t for t in triples if shared(t.subject.value)]
    return ArticleRDF(
        trig=strip_prefixes(ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=prefixes)) if quads else b"",
        nquads=ox.serialize(quads, format=ox.RdfFormat.N_QUADS) if quads else b"",
        local_ttl=strip_prefixes(ox.serialize(local, format=ox.RdfFormat.TURTLE, prefixes=prefixes)) if local else b"",
        local_jsonld=jsonld_nodes(local, prefixes),
        shared_nt=ox.serialize(common, format=ox.RdfFormat.N_TRIPLES) if common else b"",
    )


def jsonld_nodes(triples: list[ox.Triple], prefixes: dict[str, str]) -> bytes:
    """Compact JSON-LD node objects of ``triples``, one per line, each line ending in a comma-free newline
    (the streamed file joins them with ``,``)."""
    if not triples:
        return b""
    expanded = json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD))
    nodes = _Compactor(prefixes).nodes(expanded)
    return "".join(json.dumps(n, ensure_ascii=False) + "\n" for n in nodes).encode()


class StreamedJsonLd:
    """graph.jsonld written as node objects arrive: the context of the prefixes, then one node per line."""

    def __init__(self, fh: BinaryIO, prefixes: dict[str, str]) -> None:
        self.fh = fh
        self.first = True
        context = json.dumps(prefixes, ensure_ascii=False, indent=1).replace("\n", "\n ")
        fh.write(f'{{\n "@context": {context},\n "@graph": [\n'.encode())

    def write(self, node_lines: bytes) -> None:
        for line in node_lines.splitlines():
            self.fh.write(b"  " + line if self.first else b",\n  " + line)
            self.first = False

    def close(self) -> None:
        self.fh.write(b"\n ]\n}\n")
