"""The ontology-driven projection rule (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from kg.errors import KgError
from kg.namespaces import DIP
from kg.readers.projection import (
    ProjectionRule,
    check_allowed,
    literal_value,
    load_ontology,
    project,
    upper_snake,
)

SAMPLE = Path(__file__).resolve().parent / "data" / "sample.ttl"


def test_labels_and_types_come_from_the_ontology() -> None:
    rule = ProjectionRule.from_ontology(load_ontology())
    assert rule.labels[str(DIP.Official)] == ("Official", "Person")
    assert rule.labels[str(DIP.Summit)] == ("Summit", "Meeting")
    assert rule.merge_label[str(DIP.Official)] == "Person"
    assert rule.relationships[str(DIP.participant)].type == "PARTICIPATED_IN"
    assert rule.relationships[str(DIP.participant)].inverse is True
    assert rule.relationships[str(DIP.destination)].inverse is False
    assert "Position" not in rule.allowed_labels and "EventStatus" not in rule.allowed_labels


def test_changing_the_ontology_changes_the_rule() -> None:
    onto = load_ontology()
    onto.remove((DIP.destination, DIP.neo4jType, None))
    onto.set((DIP.speaker, DIP.neo4jType, Literal("QUOTED_BY")))
    onto.remove((DIP.speaker, DIP.neo4jInverse, None))
    rule = ProjectionRule.from_ontology(onto)
    assert rule.relationships[str(DIP.destination)].type == "DESTINATION"  # the UPPER_SNAKE fallback
    proj = project(Graph().parse(SAMPLE), rule)
    quoted = [r for r in proj.rels.values() if r.type == "QUOTED_BY"]
    assert len(quoted) == 2 and all("/quote/" in r.start for r in quoted)


def test_upper_snake() -> None:
    assert upper_snake("subOrganizationOf") == "SUB_ORGANIZATION_OF"
    assert upper_snake("mentionedIn") == "MENTIONED_IN"


def test_literals() -> None:
    assert str(literal_value(Literal("2018-06", datatype=XSD.gYearMonth))) == "2018-06"
    assert literal_value(Literal("2018-05-30", datatype=XSD.date)).isoformat() == "2018-05-30"
    assert literal_value(Literal("0.85", datatype=XSD.decimal)) == 0.85
    assert literal_value(Literal("60", datatype=XSD.nonNegativeInteger)) == 60


def test_sample_projection() -> None:
    proj = project(Graph().parse(SAMPLE))
    assert (len(proj.nodes), len(proj.rels), proj.skipped) == (21, 46, [])
    assert proj.type_counts()["HOLDS_POST"] == 3
    # every relationship starts and ends at a projected node; positions are not nodes
    assert all(r.start in proj.nodes and r.end in proj.nodes for r in proj.rels.values())
    assert not any("/position/" in iri for iri in proj.nodes)


def test_labels_outside_the_allow_list_are_refused() -> None:
    rule = ProjectionRule.from_ontology(load_ontology())
    g = Graph()
    g.add((URIRef("https://w3id.org/dipkg/id/x"), RDF.type, DIP.Person))
    proj = project(g, rule)
    bad = ProjectionRule({**rule.labels, str(DIP.Person): ("Person`) DETACH DELETE n //",)}, rule.merge_label,
                         rule.relationships, rule.individuals)
    with pytest.raises(KgError, match="allow-list"):
        check_allowed(project(g, bad), rule)
    check_allowed(proj, rule)
