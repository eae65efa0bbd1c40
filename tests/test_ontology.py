"""The ontology parses, holds every contract term with ja+en labels and comments, and is aligned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import rdflib.namespace as rns
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS

from kg.namespaces import DIP, FOAF, ORG, PROV, SCHEMA, SEM

ONTOLOGY = Path(__file__).resolve().parent.parent / "ontology" / "diplomacy.ttl"

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


def test_every_object_property_has_an_upper_snake_neo4j_type(onto: Graph) -> None:
    props = set(onto.subjects(RDF.type, OWL.ObjectProperty))
    assert props == set(NEO4J)
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
