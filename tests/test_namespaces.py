"""kg.namespaces.DIP agrees with the ontology, is closed, and the generator keeps it up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, SKOS

from kg.namespaces import DIP, ID, OA, PREFIXES, bind_prefixes

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY = ROOT / "ontology" / "diplomacy.ttl"
SCRIPT = ROOT / "scripts" / "gen_namespaces.py"
XSD_NON_NEGATIVE_INTEGER = URIRef("http://www.w3.org/2001/XMLSchema#nonNegativeInteger")
DECLARATIONS = (
    OWL.Class,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.AnnotationProperty,
    OWL.NamedIndividual,
)


def _ontology_terms() -> set[str]:
    g = Graph().parse(ONTOLOGY, format="turtle")
    ns = str(DIP)
    return {
        s[len(ns) :]
        for t in DECLARATIONS
        for s in g.subjects(RDF.type, t)
        if isinstance(s, URIRef) and s.startswith(ns)
    }


def _dip_terms() -> set[str]:
    return set(DIP.__annotations__)


def test_dip_and_ontology_have_the_same_terms() -> None:
    onto = _ontology_terms()
    assert len(onto) > 40
    assert onto - _dip_terms() == set(), "terms in the ontology but not in DIP"
    assert _dip_terms() - onto == set(), "terms in DIP but not in the ontology"


def test_dip_terms_are_iris_in_the_dip_namespace() -> None:
    assert DIP.Official == URIRef("https://w3id.org/dipkg/ontology#Official")
    assert DIP["participant"] == URIRef("https://w3id.org/dipkg/ontology#participant")
    assert DIP.title == URIRef("https://w3id.org/dipkg/ontology#title")


def test_unknown_term_raises() -> None:
    with pytest.raises(AttributeError):
        _ = DIP.NoSuchTerm
    with pytest.raises(AttributeError):
        _ = DIP["participants"]


def test_bind_prefixes_keeps_readable_prefixes() -> None:
    g = bind_prefixes(Graph())
    g.add((ID["state/US"], DIP.isoCode, Literal("US")))
    g.add((ID["state/US"], SKOS.prefLabel, Literal("アメリカ", lang="ja")))
    g.add((ID["x"], OA.start, Literal("1", datatype=XSD_NON_NEGATIVE_INTEGER)))
    bound = {p: str(n) for p, n in g.namespaces()}
    for prefix, iri in PREFIXES.items():
        assert bound[prefix] == iri
    text = g.serialize(format="turtle")
    assert "@prefix dip: <https://w3id.org/dipkg/ontology#>" in text
    assert "dip:isoCode" in text and "skos:prefLabel" in text and "xsd:nonNegativeInteger" in text


def test_generator_check_passes_on_committed_file() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], check=False, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr


def test_generator_check_fails_when_out_of_date_and_rewrite_fixes_it(tmp_path: Path) -> None:
    target = tmp_path / "namespaces.py"
    original = (ROOT / "kg" / "namespaces.py").read_text(encoding="utf-8")
    target.write_text(original.replace("    Summit: URIRef", "    Summitt: URIRef"), encoding="utf-8")
    args = [sys.executable, str(SCRIPT), "--target", str(target)]
    check = subprocess.run([*args, "--check"], check=False, capture_output=True, text=True)
    assert check.returncode == 1
    assert "out of date" in check.stderr
    assert subprocess.run(args, check=False, capture_output=True, text=True).returncode == 0
    assert target.read_text(encoding="utf-8") == original


def test_generator_output_is_sorted_within_groups() -> None:
    source = (ROOT / "kg" / "namespaces.py").read_text(encoding="utf-8")
    block = source.split("# BEGIN GENERATED DIP")[1].split("# END GENERATED DIP")[0]
    groups = block.split("\n\n    # ")[1:]
    assert [g.splitlines()[0] for g in groups] == [
        "classes",
        "object properties",
        "datatype properties",
        "annotation properties",
        "individuals",
    ]
    for group in groups:
        names = [line.split(":")[0].strip() for line in group.splitlines()[1:] if ": URIRef" in line]
        assert names == sorted(names)
