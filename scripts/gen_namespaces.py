"""Regenerate the ``DIP`` class in kg/namespaces.py from ontology/diplomacy.ttl.

The class sits between the ``# BEGIN GENERATED DIP`` and ``# END GENERATED DIP`` markers;
the rest of the file is left as it is. Terms are grouped by kind and sorted, so the output
is deterministic. ``--check`` writes nothing and exits 1 when the file is out of date.

Usage::

    python scripts/gen_namespaces.py            # rewrite kg/namespaces.py
    python scripts/gen_namespaces.py --check    # exit 1 if it would change
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY = ROOT / "ontology" / "diplomacy.ttl"
TARGET = ROOT / "kg" / "namespaces.py"
DIP_NS = "https://w3id.org/dipkg/ontology#"
BEGIN = "# BEGIN GENERATED DIP (scripts/gen_namespaces.py)"
END = "# END GENERATED DIP"

#: (rdf:type, heading) in the order the groups appear in the class.
KINDS: tuple[tuple[URIRef, str], ...] = (
    (OWL.Class, "classes"),
    (OWL.ObjectProperty, "object properties"),
    (OWL.DatatypeProperty, "datatype properties"),
    (OWL.AnnotationProperty, "annotation properties"),
    (OWL.NamedIndividual, "individuals"),
)


def _english_label(graph: Graph, term: URIRef) -> str:
    """The term's English rdfs:label (or its local name), on one line."""
    for label in graph.objects(term, RDFS.label):
        if isinstance(label, Literal) and label.language == "en":
            return " ".join(str(label).split())
    return term[len(DIP_NS) :]


def terms_by_kind(graph: Graph) -> list[tuple[str, list[tuple[str, str]]]]:
    """The dip: terms of the ontology as (heading, [(local name, English label)]) groups, sorted."""
    seen: set[str] = set()
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for rdf_type, heading in KINDS:
        names = []
        for term in set(graph.subjects(RDF.type, rdf_type)):
            if isinstance(term, URIRef) and term.startswith(DIP_NS) and term not in seen:
                seen.add(term)
                names.append((term[len(DIP_NS) :], _english_label(graph, term)))
        if names:
            groups.append((heading, sorted(names)))
    return groups


def ontology_version(graph: Graph) -> str:
    """owl:versionInfo of the owl:Ontology node, or "unknown"."""
    for onto in graph.subjects(RDF.type, OWL.Ontology):
        for version in graph.objects(onto, OWL.versionInfo):
            return str(version)
    return "unknown"


def render(graph: Graph) -> str:
    """The generated block, markers included, ending with a newline."""
    lines = [
        BEGIN,
        "class DIP(DefinedNamespace):",
        f'    """The diplomacy ontology ``dip:``, version {ontology_version(graph)}.',
        "",
        "    Generated from ontology/diplomacy.ttl; do not edit by hand.",
        '    """',
        "",
        "    _fail = True",
        f'    _NS = Namespace("{DIP_NS}")',
    ]
    for heading, names in terms_by_kind(graph):
        lines += ["", f"    # {heading}"]
        lines += [f"    {name}: URIRef  # {label}" for name, label in names]
    lines += ["", "", END]
    return "\n".join(lines) + "\n"


def splice(source: str, block: str) -> str:
    """Replace the generated block of ``source`` (the current kg/namespaces.py) by ``block``."""
    start = source.find(BEGIN)
    end = source.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{TARGET}: generated-block markers not found ({BEGIN!r} ... {END!r})")
    end = source.index("\n", end) + 1
    return source[:start] + block + source[end:]


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with --check, compare) the DIP class; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if kg/namespaces.py is out of date")
    parser.add_argument("--ontology", type=Path, default=ONTOLOGY)
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args(argv)

    graph = Graph().parse(args.ontology, format="turtle")
    current = args.target.read_text(encoding="utf-8")
    wanted = splice(current, render(graph))
    if args.check:
        if wanted != current:
            print(f"{args.target} is out of date; run scripts/gen_namespaces.py", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        fd, tmp = tempfile.mkstemp(dir=args.target.parent, prefix=".namespaces.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(wanted)
        os.replace(tmp, args.target)
        print(f"wrote {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
