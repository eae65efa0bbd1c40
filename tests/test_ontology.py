"""The ontology parses, holds every contract term with ja+en labels and comments, and is aligned."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import rdflib.namespace as rns
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS

from kg.namespaces import DIP, FOAF, ORG, PROV, SCHEMA, SEM
from kg.readers.projection import ProjectionRule

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY = ROOT / "ontology" / "diplomacy.ttl"
ROBOT = ROOT / "scripts" / "robot-local"

CONTRACT_CLASSES = [
    "Person",
    "Official",
    "State",
    "Organization",
    "Place",
    "Meeting",
    "Summit",
    "PhoneCall",
    "Visit",
    "Quote",
    "Document",
    "EventStatus",
    "Position",
]
CONTRACT_INDIVIDUALS = ["Held", "Planned", "Possible", "Cancelled"]
CONTRACT_OBJECT_PROPERTIES = [
    "holds",
    "postIn",
    "represents",
    "subOrganizationOf",
    "participant",
    "location",
    "status",
    "visitor",
    "destination",
    "speaker",
    "partOf",
    "mentionedIn",
    "locatedIn",
]
CONTRACT_DATATYPE_PROPERTIES = [
    "title",
    "startDate",
    "endDate",
    "text",
    "date",
    "kind",
    "speakerDescription",
    "isoCode",
    "rule",
    "confidence",
    "extractorVersion",
    "sha256",
]
ALL_TERMS = (
    CONTRACT_CLASSES + CONTRACT_INDIVIDUALS + CONTRACT_OBJECT_PROPERTIES + CONTRACT_DATATYPE_PROPERTIES
)


@pytest.fixture(scope="module")
def onto() -> Graph:
    return Graph().parse(ONTOLOGY, format="turtle")


def test_ontology_header_has_version(onto: Graph) -> None:
    ontologies = list(onto.subjects(RDF.type, OWL.Ontology))
    assert ontologies == [URIRef("https://w3id.org/dipkg/ontology")]
    assert onto.value(ontologies[0], OWL.versionInfo) == Literal("0.1.0")


@pytest.mark.parametrize(
    ("names", "rdf_type"),
    [
        (CONTRACT_CLASSES, OWL.Class),
        (CONTRACT_INDIVIDUALS, OWL.NamedIndividual),
        (CONTRACT_OBJECT_PROPERTIES, OWL.ObjectProperty),
        (CONTRACT_DATATYPE_PROPERTIES, OWL.DatatypeProperty),
    ],
)
def test_contract_terms_are_declared_with_their_kind(onto: Graph, names: list[str], rdf_type: URIRef) -> None:
    missing = [n for n in names if (DIP[n], RDF.type, rdf_type) not in onto]
    assert missing == []


@pytest.mark.parametrize("name", [*ALL_TERMS, "neo4jType", "neo4jInverse"])
def test_every_term_has_ja_and_en_label_and_comment(onto: Graph, name: str) -> None:
    term = DIP[name]
    for prop in (RDFS.label, RDFS.comment):
        langs = sorted(lit.language for lit in onto.objects(term, prop) if isinstance(lit, Literal))
        assert langs == ["en", "ja"], f"{name} {prop}: {langs}"


def test_status_individuals_are_event_statuses(onto: Graph) -> None:
    for name in CONTRACT_INDIVIDUALS:
        assert (DIP[name], RDF.type, DIP.EventStatus) in onto


@pytest.mark.parametrize(
    ("sub", "sup"),
    [
        (DIP.Person, SCHEMA.Person),
        (DIP.Person, FOAF.Person),
        (DIP.Official, DIP.Person),
        (DIP.State, SCHEMA.Country),
        (DIP.Organization, ORG.Organization),
        (DIP.Organization, SCHEMA.Organization),
        (DIP.Place, SCHEMA.Place),
        (DIP.Meeting, SCHEMA.Event),
        (DIP.Meeting, SEM.Event),
        (DIP.Summit, DIP.Meeting),
        (DIP.PhoneCall, DIP.Meeting),
        (DIP.Visit, SCHEMA.Event),
        (DIP.Visit, SEM.Event),
        (DIP.Quote, SCHEMA.Quotation),
        (DIP.Document, SCHEMA.NewsArticle),
        (DIP.Document, PROV.Entity),
        (DIP.Position, ORG.Post),
    ],
)
def test_class_alignments(onto: Graph, sub: URIRef, sup: URIRef) -> None:
    assert (sub, RDFS.subClassOf, sup) in onto


@pytest.mark.parametrize(
    ("sub", "sup"),
    [
        (DIP.holds, ORG.holds),
        (DIP.postIn, ORG.postIn),
        (DIP.subOrganizationOf, ORG.subOrganizationOf),
        (DIP.participant, SEM.hasActor),
        (DIP.location, SCHEMA.location),
        (DIP.startDate, SCHEMA.startDate),
        (DIP.endDate, SCHEMA.endDate),
    ],
)
def test_property_alignments(onto: Graph, sub: URIRef, sup: URIRef) -> None:
    assert (sub, RDFS.subPropertyOf, sup) in onto


def _range_members(onto: Graph, prop: URIRef) -> set[URIRef]:
    rng = onto.value(prop, RDFS.range)
    union = onto.value(rng, OWL.unionOf)
    return set(Collection(onto, union)) if union is not None else {rng}


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ("title", {RDF.langString}),
        ("text", {RDF.langString}),
        ("kind", {RDF.langString}),
        ("speakerDescription", {RDF.langString}),
        ("startDate", {rns.XSD.date, rns.XSD.gYearMonth, rns.XSD.gYear}),
        ("endDate", {rns.XSD.date, rns.XSD.gYearMonth, rns.XSD.gYear}),
        ("date", {rns.XSD.date, rns.XSD.gYearMonth, rns.XSD.gYear}),
        ("rule", {rns.XSD.string}),
        ("extractorVersion", {rns.XSD.string}),
        ("isoCode", {rns.XSD.string}),
        ("sha256", {rns.XSD.string}),
        ("confidence", {rns.XSD.decimal}),
        ("holds", {DIP.Position}),
        ("postIn", {DIP.State, DIP.Organization}),
        ("participant", {DIP.Person, DIP.State, DIP.Organization}),
        ("status", {DIP.EventStatus}),
        ("visitor", {DIP.Person, DIP.State}),
        ("destination", {DIP.State, DIP.Place}),
        ("location", {DIP.Place, DIP.State}),
        ("speaker", {DIP.Person}),
        ("represents", {DIP.State}),
    ],
)
def test_ranges_follow_the_contract(onto: Graph, prop: str, expected: set[URIRef]) -> None:
    assert _range_members(onto, DIP[prop]) == expected


NEO4J = {
    DIP.participant: ("PARTICIPATED_IN", True),
    DIP.location: ("HELD_IN", False),
    DIP.visitor: ("MADE_VISIT", True),
    DIP.destination: ("TO", False),
    DIP.speaker: ("SAID", True),
    DIP.holds: ("HOLDS_POST", False),
    DIP.postIn: ("POST_IN", False),
    DIP.represents: ("REPRESENTS", False),
    DIP.subOrganizationOf: ("PART_OF", False),
    DIP.locatedIn: ("LOCATED_IN", False),
    DIP.partOf: ("PART_OF_EVENT", False),
    DIP.status: ("HAS_STATUS", False),
    DIP.mentionedIn: ("MENTIONED_IN", False),
    DIP.ploverEvent: ("PLOVER_EVENT", False),
    DIP.ploverMode: ("PLOVER_MODE", False),
    DIP.cameoCode: ("CAMEO_CODE", False),
    PROV.wasDerivedFrom: ("REPORTED_IN", False),
}


#: object properties of other vocabularies that dip: properties specialise, declared for OWL 2 DL
EXTERNAL_OBJECT_PROPERTIES = {
    SCHEMA.location, SCHEMA.containedInPlace, SCHEMA.spokenByCharacter, SCHEMA.superEvent,
    ORG.holds, ORG.postIn, ORG.subOrganizationOf, SEM.hasActor,
}


def test_every_object_property_has_an_upper_snake_neo4j_type(onto: Graph) -> None:
    """Every dip: object property (and prov:wasDerivedFrom) has a type; the other vocabularies' properties,
    declared for OWL 2 DL, have none and are not projected."""
    declared = set(onto.subjects(RDF.type, OWL.ObjectProperty))
    props = {p for p in declared if str(p).startswith(str(DIP)) or onto.value(p, DIP.neo4jType) is not None}
    assert props == set(NEO4J)
    assert declared - props == EXTERNAL_OBJECT_PROPERTIES
    rule = ProjectionRule.from_ontology(onto)
    assert set(rule.relationships) == {str(p) for p in NEO4J}
    for prop in props:
        types = list(onto.objects(prop, DIP.neo4jType))
        assert len(types) == 1, prop
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", str(types[0])), types


@pytest.mark.parametrize(("prop", "expected"), list(NEO4J.items()))
def test_neo4j_type_and_direction(onto: Graph, prop: URIRef, expected: tuple[str, bool]) -> None:
    rel_type, inverse = expected
    assert str(onto.value(prop, DIP.neo4jType)) == rel_type
    flag = onto.value(prop, DIP.neo4jInverse)
    assert (flag is not None and flag.toPython() is True) == inverse


def test_no_datatype_property_has_a_neo4j_type(onto: Graph) -> None:
    for prop in onto.subjects(RDF.type, OWL.DatatypeProperty):
        assert onto.value(prop, DIP.neo4jType) is None, prop


# ---- OWL 2 DL, as OWL API tools (Protégé, ROBOT) see the file ----------------------------------


def robot(*args: str) -> subprocess.CompletedProcess[str]:
    """ROBOT (org.obolibrary.robot, fetched once from Maven Central by scripts/robot-local), at the
    log level that prints its warnings."""
    proc = subprocess.run([str(ROBOT), "-v", *args], capture_output=True, text=True, timeout=900, check=False)
    if any(line.startswith("robot-local:") and " fetching " not in line for line in proc.stderr.splitlines()):
        pytest.fail(f"scripts/robot-local could not run ROBOT:\n{proc.stderr[-2000:]}", pytrace=False)
    return proc


def warnings_of(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """ROBOT's WARN and ERROR lines, less its timing note (printed at -v on every run)."""
    lines = (proc.stdout + proc.stderr).splitlines()
    return [line for line in lines if line.startswith(("WARN", "ERROR")) and "Subcommand Timing" not in line]


@pytest.mark.slow
def test_the_ontology_is_in_the_owl2_dl_profile(tmp_path: Path) -> None:
    """ROBOT validate-profile --profile DL: every term of another vocabulary is declared, every datatype is
    OWL 2's or declared."""
    report = tmp_path / "profile.txt"
    proc = robot("validate-profile", "--profile", "DL", "--input", str(ONTOLOGY), "--output", str(report))
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    assert proc.returncode == 0, text + proc.stdout + proc.stderr
    assert text.strip() == "OWL 2 DL Profile Report: [Ontology and imports closure in profile]"
    assert warnings_of(proc) == []


@pytest.mark.slow
@pytest.mark.parametrize("reasoner", ["HermiT", "ELK"])
def test_reasoners_accept_the_ontology_without_warnings(tmp_path: Path, reasoner: str) -> None:
    """ROBOT reason: consistent, no unsatisfiable class, no dangling reference, no other warning; the
    class hierarchy comes out whole."""
    out = tmp_path / "reasoned.ttl"
    proc = robot("reason", "--reasoner", reasoner, "--input", str(ONTOLOGY), "--output", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert warnings_of(proc) == []
    reasoned = Graph().parse(out, format="turtle")
    assert (DIP.Summit, RDFS.subClassOf, DIP.Meeting) in reasoned
    assert (DIP.Official, RDFS.subClassOf, DIP.Person) in reasoned
