"""SHACL validation with the real shapes and pySHACL: the sample conforms, broken graphs do not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH

from kg.build.validate import (
    DIPSH,
    ValidationResult,
    load_shapes,
    read_graph,
    summarize,
    validate_file,
    validate_graph,
)
from kg.errors import KgError, ValidationError
from kg.namespaces import DIP, ID, OA, PROV

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHAPES = ROOT / "shapes"
ONTOLOGY = ROOT / "ontology" / "diplomacy.ttl"

DINNER = ID["meeting/5e80318c9632ed7b"]
UNATTRIBUTED_QUOTE = ID["quote/6fba8d51bb97f70b"]
DINNER_SENTENCE = "アメリ国務省は、30日に行われたポンペイ国務長官とキム・ヨンチョル朝鮮労働党副委員長の夕食会の写真を公表しました。"


@pytest.fixture()
def sample_graph(sample_ttl: Path) -> Graph:
    return read_graph(sample_ttl)


# ---- the sample ---------------------------------------------------------------------------------


def test_sample_conforms_without_any_result(sample_ttl: Path) -> None:
    result = validate_file(sample_ttl)
    assert isinstance(result, ValidationResult)
    assert result.conforms, result.text
    assert result.violations == ()
    assert "Conforms: True" in result.text


def test_sample_has_the_promised_contents(sample_graph: Graph) -> None:
    def count(cls: URIRef) -> int:
        return len(set(sample_graph.subjects(RDF.type, cls)))

    assert count(DIP.Document) == 2
    assert count(DIP.Official) == 5
    assert count(DIP.State) == 3
    assert count(DIP.Organization) == 2
    assert count(DIP.Place) == 2
    assert count(DIP.Position) == 3
    assert count(DIP.Meeting) + count(DIP.Summit) == 2 and count(DIP.Summit) == 1
    assert len(set(sample_graph.subjects(DIP.partOf, None))) == 1
    assert count(DIP.Visit) == 2
    assert count(DIP.Quote) == 3
    assert len(set(sample_graph.subjects(OWL.sameAs, None))) >= 1
    unattributed = [
        q for q in sample_graph.subjects(RDF.type, DIP.Quote) if sample_graph.value(q, DIP.speaker) is None
    ]
    assert unattributed == [UNATTRIBUTED_QUOTE]
    assert sample_graph.value(UNATTRIBUTED_QUOTE, DIP.speakerDescription) == Literal(
        "国務省の高官", lang="ja"
    )


def test_sample_has_no_blank_nodes(sample_graph: Graph) -> None:
    assert all(isinstance(t, (URIRef, Literal)) for triple in sample_graph for t in triple)


def test_every_node_has_exactly_one_type(sample_graph: Graph) -> None:
    for node in set(sample_graph.subjects(RDF.type, None)):
        assert len(list(sample_graph.objects(node, RDF.type))) == 1, node


# ---- each invalid file breaks one constraint ----------------------------------------------------

INVALID = [
    ("invalid_meeting_one_participant.ttl", "meeting/5e80318c9632ed7b", "dip:participant",
     "MeetingShape-participantCount", "at least two dip:participant"),
    ("invalid_meeting_participant_place.ttl", "meeting/5e80318c9632ed7b", "dip:participant",
     "MeetingShape-participant", "must be a dip:Person, dip:Official, dip:State or dip:Organization"),
    ("invalid_meeting_bad_status.ttl", "meeting/5e80318c9632ed7b", "dip:status",
     "EventShape-status", "exactly one dip:status"),
    ("invalid_meeting_date_string.ttl", "meeting/5e80318c9632ed7b", "dip:startDate",
     "EventShape-startDate", "xsd:date, xsd:gYearMonth or xsd:gYear"),
    ("invalid_position_no_title.ttl", "position/f82c68cbc7b9da15", "dip:title",
     "PositionShape-title", "needs dip:title"),
    ("invalid_quote_plain_text.ttl", "quote/92b028f48b16ff2b", "dip:text",
     "QuoteShape-text", "language-tagged string"),
    ("invalid_quote_no_evidence.ttl", "quote/92b028f48b16ff2b", "^oa:hasBody",
     "ProvenanceShape-evidence", "needs evidence"),
    ("invalid_selector_start_after_end.ttl", "evidence/204ed2ae226b7467#pos", "oa:start",
     "TextPositionSelectorShape-order", "oa:start must not be greater than oa:end"),
    ("invalid_label_two_ja.ttl", "person/キムヨンチョル", "rdfs:label",
     "LabelledShape-label", "at most one per language"),
    ("invalid_document_no_identifier.ttl", "doc/000_a87ea9164a9e83dc", "dcterms:identifier",
     "DocumentShape-identifier", "dcterms:identifier"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "focus", "path", "shape", "message"), INVALID, ids=[row[0] for row in INVALID]
)
def test_invalid_file_fails_on_exactly_the_broken_constraint(
    name: str, focus: str, path: str, shape: str, message: str
) -> None:
    result = validate_file(DATA / name)
    assert not result.conforms
    assert len(result.errors) == 1, [v.source_shape for v in result.violations]
    (violation,) = result.errors
    assert violation.severity == "Violation"
    assert violation.focus_node == str(ID[focus])
    assert violation.path == path
    assert violation.source_shape == f"dipsh:{shape}"
    assert message in violation.message


def test_all_invalid_files_are_covered() -> None:
    assert sorted(p.name for p in DATA.glob("invalid_*.ttl")) == sorted(row[0] for row in INVALID)


def test_offending_value_is_reported(sample_graph: Graph) -> None:
    sample_graph.set((DINNER, DIP.status, Literal("held")))
    (violation,) = validate_graph(sample_graph).errors
    assert violation.value == '"held"'


@pytest.mark.parametrize(
    ("triple", "path"),
    [
        ((DINNER, DIP.location, ID["person/Q473239"]), "dip:location"),
        ((DINNER, DIP.endDate, Literal("2018-05-31T10:00:00", datatype=URIRef("http://www.w3.org/2001/XMLSchema#dateTime"))), "dip:endDate"),
        ((ID["quote/92b028f48b16ff2b"], DIP.speaker, ID["state/US"]), "dip:speaker"),
        ((ID["visit/97cdfabc3ac308e1"], DIP.destination, ID["org/国務省"]), "dip:destination"),
        ((ID["person/リヨンホ"], DIP.holds, ID["state/RU"]), "dip:holds"),
        ((ID["org/国務省"], DIP.subOrganizationOf, ID["place/ニューヨーク"]), "dip:subOrganizationOf"),
        ((ID["state/US"], DIP.isoCode, Literal("USA")), "dip:isoCode"),
        ((ID["evidence/3bf2e586bb87aae8"], DIP.confidence, Literal("1.5", datatype=URIRef("http://www.w3.org/2001/XMLSchema#decimal"))), "dip:confidence"),
        ((ID["evidence/3bf2e586bb87aae8#pos"], OA.start, Literal("-1", datatype=URIRef("http://www.w3.org/2001/XMLSchema#integer"))), "oa:start"),
    ],
)  # fmt: skip
def test_value_class_and_datatype_checks(sample_graph: Graph, triple: tuple, path: str) -> None:
    sample_graph.set(triple)  # replaces the valid value, if any
    result = validate_graph(sample_graph)
    assert not result.conforms
    assert [(v.focus_node, v.path) for v in result.errors] == [(str(triple[0]), path)]


def test_subclass_instances_get_superclass_constraints(sample_graph: Graph) -> None:
    summit = ID["meeting/17c79967668a7c3f"]
    sample_graph.remove((summit, PROV.wasDerivedFrom, None))
    sample_graph.remove((summit, DIP.participant, ID["state/KP"]))
    result = validate_graph(sample_graph)
    assert {(v.focus_node, v.path) for v in result.errors} == {
        (str(summit), "prov:wasDerivedFrom"),
        (str(summit), "dip:participant"),
    }


def test_missing_status_and_missing_visitor(sample_graph: Graph) -> None:
    visit = ID["visit/97cdfabc3ac308e1"]
    sample_graph.remove((visit, DIP.status, None))
    sample_graph.remove((visit, DIP.visitor, None))
    result = validate_graph(sample_graph)
    assert sorted(v.path for v in result.errors) == ["dip:status", "dip:visitor"]


def test_entity_without_label_fails(sample_graph: Graph) -> None:
    sample_graph.remove((ID["place/ピョンヤン"], RDFS.label, None))
    (violation,) = validate_graph(sample_graph).errors
    assert violation.path == "rdfs:label"
    assert "needs an rdfs:label" in violation.message


# ---- warnings -----------------------------------------------------------------------------------


def test_unattributed_quote_is_a_warning_that_keeps_conformance(sample_graph: Graph) -> None:
    sample_graph.remove((UNATTRIBUTED_QUOTE, DIP.speakerDescription, None))
    result = validate_graph(sample_graph)
    assert result.conforms
    assert result.errors == ()
    (warning,) = result.warnings
    assert warning.severity == "Warning"
    assert warning.focus_node == str(UNATTRIBUTED_QUOTE)
    assert warning.source_shape == "dipsh:QuoteAttributionShape"
    assert "neither dip:speaker nor dip:speakerDescription" in warning.message


def test_warning_plus_violation_does_not_conform(sample_graph: Graph) -> None:
    sample_graph.remove((UNATTRIBUTED_QUOTE, DIP.speakerDescription, None))
    sample_graph.remove((UNATTRIBUTED_QUOTE, DIP.text, None))
    result = validate_graph(sample_graph)
    assert not result.conforms
    assert [v.severity for v in result.violations] == ["Violation", "Warning"]


# ---- files and formats --------------------------------------------------------------------------


def test_missing_file_raises_validation_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.ttl"
    with pytest.raises(ValidationError, match="nope.ttl: file not found") as info:
        validate_file(missing)
    assert isinstance(info.value, KgError)


def test_unparseable_file_raises_validation_error_with_parser_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text(
        '@prefix dip: <https://w3id.org/dipkg/ontology#> .\n<a> dip:x "unterminated .\n', encoding="utf-8"
    )
    with pytest.raises(ValidationError) as info:
        validate_file(broken)
    text = str(info.value)
    assert text.startswith(f"{broken}: cannot parse as turtle:")
    assert len(text) > len(f"{broken}: cannot parse as turtle: ")


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    odd = tmp_path / "graph.xyz"
    odd.write_text("", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"graph.xyz: unknown RDF file extension '.xyz'"):
        validate_file(odd)


def test_trig_with_one_graph_per_document_is_validated_as_a_whole(
    sample_graph: Graph, tmp_path: Path
) -> None:
    dataset = Dataset()
    docs = sorted(sample_graph.subjects(RDF.type, DIP.Document))
    for i, triple in enumerate(sorted(sample_graph)):
        dataset.graph(docs[i % 2]).add(triple)  # split arbitrarily: shapes must see the union
    path = tmp_path / "graph.trig"
    dataset.serialize(path, format="trig")
    assert validate_file(path).conforms
    nquads = tmp_path / "graph.nq"
    dataset.serialize(nquads, format="nquads")
    assert validate_file(nquads).conforms


@pytest.mark.parametrize(("suffix", "fmt"), [(".nt", "nt"), (".jsonld", "json-ld")])
def test_other_formats(sample_graph: Graph, tmp_path: Path, suffix: str, fmt: str) -> None:
    sample_graph.remove((DINNER, DIP.status, None))
    path = tmp_path / f"graph{suffix}"
    sample_graph.serialize(path, format=fmt)
    result = validate_file(path)
    assert [(v.focus_node, v.path) for v in result.errors] == [(str(DINNER), "dip:status")]


# ---- shapes -------------------------------------------------------------------------------------


def test_load_shapes_is_cached_and_has_readable_prefixes() -> None:
    assert load_shapes() is load_shapes(SHAPES)
    prefixes = dict(load_shapes().namespaces())
    assert str(prefixes["dipsh"]) == str(DIPSH)


def test_missing_shapes_dir_raises(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="shapes directory not found"):
        load_shapes(tmp_path / "none")
    with pytest.raises(ValidationError, match="no \\*.ttl shapes files"):
        load_shapes(tmp_path)


def test_broken_shapes_file_is_named(tmp_path: Path) -> None:
    shutil.copy(SHAPES / "diplomacy-shapes.ttl", tmp_path)
    (tmp_path / "zz-extra.ttl").write_text("this is not turtle", encoding="utf-8")
    with pytest.raises(ValidationError, match="zz-extra.ttl: cannot parse the shapes file"):
        load_shapes(tmp_path)


def test_every_contract_class_is_targeted() -> None:
    targeted = set(load_shapes().objects(None, SH.targetClass))
    onto = Graph().parse(ONTOLOGY)
    # the ontology's own classes (the terms of other vocabularies it declares for OWL 2 DL are not its classes)
    classes = {c for c in onto.subjects(RDF.type, OWL.Class)
               if isinstance(c, URIRef) and str(c).startswith(str(DIP))} - {DIP.EventStatus}
    assert classes <= targeted
    assert {OA.Annotation, OA.SpecificResource, OA.TextPositionSelector, OA.TextQuoteSelector} <= targeted


def test_every_named_shape_with_constraints_has_an_english_message() -> None:
    shapes = load_shapes()
    named = {s for s in shapes.subjects(RDF.type, SH.PropertyShape)} | {
        s
        for s in shapes.subjects(RDF.type, SH.NodeShape)
        if (s, SH.targetClass, None) in shapes and (s, SH.property, None) not in shapes
    }
    assert len(named) > 40
    for shape in named:
        langs = {m.language for m in shapes.objects(shape, SH.message)}
        assert "en" in langs, shape


def test_shapes_use_only_terms_of_the_ontology() -> None:
    ns = str(DIP)
    used = {t for triple in load_shapes() for t in triple if isinstance(t, URIRef) and t.startswith(ns)}
    onto = Graph().parse(ONTOLOGY)
    declared = {s for s in onto.subjects(RDF.type, None) if isinstance(s, URIRef)}
    assert used and used <= declared, used - declared


def test_report_graph_keeps_readable_prefixes(sample_graph: Graph) -> None:
    sample_graph.remove((DINNER, DIP.status, None))
    report = validate_graph(sample_graph).report_graph
    text = report.serialize(format="turtle")
    assert "@prefix dipsh: <https://w3id.org/dipkg/shapes#>" in text
    assert "dipsh:EventShape-status" in text
    assert "sh:resultPath dip:status" in text


def test_shapes_run_without_the_ontology_or_inference(sample_graph: Graph) -> None:
    # adding the ontology must not change the outcome: shapes do not rely on it
    with_onto = sample_graph + Graph().parse(ONTOLOGY)
    with_onto.remove((DINNER, DIP.participant, ID["person/Q473239"]))
    result = validate_graph(with_onto)
    assert [(v.focus_node, v.path) for v in result.errors] == [(str(DINNER), "dip:participant")]


# ---- summary ------------------------------------------------------------------------------------


def test_summarize_shows_focus_path_message_and_evidence_sentence(sample_graph: Graph) -> None:
    sample_graph.remove((DINNER, DIP.participant, ID["person/Q473239"]))
    result = validate_graph(sample_graph)
    text = summarize(result, sample_graph)
    lines = text.splitlines()
    assert lines[0] == "Conforms: no (1 violation)"
    assert lines[1] == (
        "[Violation] id:meeting/5e80318c9632ed7b dip:participant: "
        "A meeting needs at least two dip:participant values."
    )
    assert lines[2] == f"    evidence 000_a87ea9164a9e83dc [60-117]: {DINNER_SENTENCE}"


def test_summarize_finds_the_sentence_of_a_broken_selector() -> None:
    path = DATA / "invalid_selector_start_after_end.ttl"
    text = summarize(validate_file(path), read_graph(path))
    assert "[Violation] id:evidence/204ed2ae226b7467#pos oa:start" in text
    assert "「とてもよかった」と答えました。" in text


def test_summarize_without_data_has_no_evidence_and_respects_limit(sample_graph: Graph) -> None:
    for meeting in list(sample_graph.subjects(RDF.type, DIP.Meeting)) + list(
        sample_graph.subjects(RDF.type, DIP.Summit)
    ):
        sample_graph.remove((meeting, DIP.status, None))
    result = validate_graph(sample_graph)
    assert len(result.errors) == 2
    text = summarize(result, limit=1)
    assert "evidence" not in text
    assert "... and 1 more" in text
    assert "most frequent: dipsh:EventShape-status (2)" in text


def test_summarize_of_a_conforming_graph(sample_ttl: Path) -> None:
    assert summarize(validate_file(sample_ttl)) == "Conforms: yes"


def test_validate_graph_accepts_a_dataset_and_checks_the_union(sample_graph: Graph) -> None:
    dataset = Dataset()
    for i, triple in enumerate(sorted(sample_graph)):
        dataset.graph(ID[f"doc/g{i % 3}"]).add(triple)
    assert validate_graph(dataset).conforms
    dataset.graph(ID["doc/g0"]).remove((DINNER, DIP.status, None))
    dataset.graph(ID["doc/g1"]).remove((DINNER, DIP.status, None))
    dataset.graph(ID["doc/g2"]).remove((DINNER, DIP.status, None))
    assert [v.path for v in validate_graph(dataset).errors] == ["dip:status"]


# ---- validation shared out among processes -------------------------------------------------------


def _broken_graph(sample_graph: Graph) -> Graph:
    g = Graph()
    for t in sample_graph:
        g.add(t)
    for f in sorted(DATA.glob("invalid_*.ttl")):
        g.parse(f, format="turtle")
    g.add((UNATTRIBUTED_QUOTE, DIP.text, Literal("no language tag")))  # plus a warning-level case
    return g


def test_validation_in_two_processes_reports_exactly_what_one_process_does(
        sample_graph: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.build.validate as v

    g = _broken_graph(sample_graph)
    monkeypatch.setattr(v, "PARALLEL_MIN_TRIPLES", 0)  # the sample is small: fork anyway
    parts = v._shares(g, load_shapes(), 2)
    assert parts is not None and len(parts) == 2
    targeted = {s for s in load_shapes().subjects(SH.targetClass, None)}
    kept = [{s for s in p.subjects(SH.targetClass, None)} for p in parts]
    assert kept[0] and kept[1] and not kept[0] & kept[1] and kept[0] | kept[1] == targeted
    one = validate_graph(g)
    two = validate_graph(g, processes=2)
    assert not one.conforms and len(one.errors) >= len(list(DATA.glob("invalid_*.ttl")))
    assert two.violations == one.violations
    assert two.conforms == one.conforms
    assert f"Results ({len(one.violations)})" in two.text
    reports = list(two.report_graph.subjects(RDF.type, SH.ValidationReport))
    assert len(reports) == 1 and two.report_graph.value(reports[0], SH.conforms) == Literal(False)


def test_a_conforming_graph_validated_in_two_processes_conforms(sample_graph: Graph,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.build.validate as v

    monkeypatch.setattr(v, "PARALLEL_MIN_TRIPLES", 0)
    result = validate_graph(sample_graph, processes=2)
    assert result.conforms and result.violations == ()
    assert "Conforms: True" in result.text


def test_a_failed_validation_process_falls_back_to_this_one(sample_graph: Graph,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import kg.build.validate as v

    g = _broken_graph(sample_graph)
    expected = validate_graph(g).violations
    monkeypatch.setattr(v, "PARALLEL_MIN_TRIPLES", 0)
    calls: list[int] = []
    real = v._validate_forked

    def counted(*args: object) -> object:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(v, "_validate_forked", counted)
    monkeypatch.setattr(v, "_validate_in_child", lambda *a: os._exit(3))  # the fault: a child dies
    assert validate_graph(g, processes=2).violations == expected
    assert calls == [1]
