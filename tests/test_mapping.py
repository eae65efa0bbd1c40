"""Statements onto the ontology: deterministic IRIs, escaping, evidence annotations, dates, types."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.build.ingest import read_text_file
from kg.build.mapping import DEFAULT_BASE, Mapper, build_graph, iri_escape
from kg.build.validate import validate_graph
from kg.errors import MappingError
from kg.namespaces import DIP, OA, PROV, WD
from kg.rdfio import jsonld_bytes, trig_bytes, turtle_bytes
from kg.records import (
    Article,
    DocumentStatements,
    EntityRecord,
    Evidence,
    MeetingStatement,
    PositionStatement,
    QuoteStatement,
    VisitStatement,
)

ROOT = Path(__file__).resolve().parent.parent
SEED_TXT = ROOT / "seeds" / "000_a87ea9164a9e83dc.txt"

TEXT = (
    "ロシアのラブロフ外相は31日午前、北朝鮮の首都ピョンヤンに到着し、リ・ヨンホ外相と会談しました。"
    "ラブロフ外相は「とてもよかった」と述べました。"
)
S1 = TEXT[: TEXT.index("。") + 1]
S2 = TEXT[len(S1):]
DOC = "ru-kp-0531"
LAVROV, RI = "person:ラブロフ", "person:李容浩"


def ev(sentence: str, rule: str = "test.rule") -> Evidence:
    start = TEXT.index(sentence)
    return Evidence(DOC, start, start + len(sentence), sentence, rule, 0.8, "kg-test")


def entities() -> tuple[EntityRecord, ...]:
    return (
        EntityRecord(LAVROV, "Official", "ラブロフ", evidence=(ev(S1),)),
        EntityRecord(RI, "Official", "李容浩", ("リ・ヨンホ",), evidence=(ev(S1),)),
        EntityRecord("state:RU", "State", "ロシア", wikidata="Q159", iso="RU", evidence=(ev(S1),)),
        EntityRecord("state:KP", "State", "北朝鮮", wikidata="Q423", iso="KP", evidence=(ev(S1),)),
        EntityRecord("place:平壌", "Place", "平壌", ("ピョンヤン",), located_in="state:KP", evidence=(ev(S1),)),
    )


def statements() -> tuple:
    return (
        PositionStatement(LAVROV, "外相", "外務大臣", "state:RU", evidence=(ev(S1),)),
        PositionStatement(RI, "外相", "外務大臣", "state:KP", evidence=(ev(S1),)),
        MeetingStatement((LAVROV, RI), "Meeting", "会談", "2018-05-31", None, "place:平壌", "held",
                         doc_id=DOC, evidence=(ev(S1, "meeting.comitative"),)),
        VisitStatement(LAVROV, "state:KP", "place:平壌", "2018-05-31", doc_id=DOC, evidence=(ev(S1),)),
        QuoteStatement("とてもよかった", LAVROV, date="2018-05-31", doc_id=DOC, evidence=(ev(S2),)),
    )


def document(stmts: tuple | None = None, ents: tuple[EntityRecord, ...] | None = None) -> DocumentStatements:
    art = Article(DOC, TEXT, published="2018-06-01", url="https://example.org/ru-kp", sha256="0" * 64)
    return DocumentStatements(art, entities() if ents is None else ents,
                              statements() if stmts is None else stmts)


def types(g: Graph, node: URIRef) -> set[URIRef]:
    return set(g.objects(node, RDF.type))  # type: ignore[arg-type]


# ---- deterministic IRIs ----------------------------------------------------------------------


def test_same_statements_give_the_same_triples() -> None:
    g1, g2 = build_graph([document()]), build_graph([document()])
    assert len(g1) > 50
    assert set(g1) == set(g2)
    assert turtle_bytes(g1) == turtle_bytes(g2)


def test_jsonld_is_compacted_with_the_prefixes_it_uses() -> None:
    import json

    g = build_graph([document()])
    data = json.loads(jsonld_bytes(g))
    context, nodes = data["@context"], data["@graph"]
    assert {"dip", "person", "ev", "oa", "xsd"} <= set(context) and "brick" not in context
    assert [n["@id"] for n in nodes] == sorted(n["@id"] for n in nodes)
    assert all(not n["@id"].startswith("http") for n in nodes)
    keys = {k for n in nodes for k in n}
    assert "@type" in keys and not any(k.startswith("http") for k in keys)
    lavrov = next(n for n in nodes if n["@id"] == LAVROV)
    assert lavrov["@type"] == "dip:Official"
    assert {"@language": "ja", "@value": "ラブロフ"} in (lavrov["rdfs:label"] if isinstance(lavrov["rdfs:label"], list)
                                                      else [lavrov["rdfs:label"]])
    assert set(Graph().parse(data=jsonld_bytes(g), format="json-ld")) == set(g)


def test_no_blank_nodes() -> None:
    g = build_graph([document()])
    assert not [t for t in g if any(not isinstance(x, (URIRef, Literal)) for x in t)]


def test_event_iris_come_from_content_not_order() -> None:
    m = Mapper()
    a = MeetingStatement((LAVROV, RI), start="2018-05-31", doc_id="d1", evidence=(ev(S1),))
    a2 = MeetingStatement((RI, LAVROV), start="2018-05-31", doc_id="d1", evidence=(ev(S2),))
    b = MeetingStatement((RI, LAVROV), start="2018-05-31", doc_id="d2", evidence=(ev(S2),))
    # the same meeting in one article: one node, whatever the participant order
    assert m.meeting_iri(a) == m.meeting_iri(a2)
    assert re.fullmatch(re.escape(DEFAULT_BASE) + r"meeting/[0-9a-f]{16}", str(m.meeting_iri(a)))
    # on its own, a statement identifies its event within its article only; across articles the
    # reports are joined by kg.build.events (see test_events.py)
    assert m.meeting_iri(a) != m.meeting_iri(b)
    # other participants or another day: another meeting
    c = MeetingStatement((LAVROV, "person:Q473239"), start="2018-05-31", doc_id="d1", evidence=(ev(S1),))
    d = MeetingStatement((LAVROV, RI), start="2018-05-30", doc_id="d1", evidence=(ev(S1),))
    assert len({m.meeting_iri(a), m.meeting_iri(c), m.meeting_iri(d)}) == 3


def test_entity_iris() -> None:
    m = Mapper()
    assert m.entity_iri("person:Q473239") == URIRef(DEFAULT_BASE + "person/Q473239")
    assert m.entity_iri("state:US") == URIRef(DEFAULT_BASE + "state/US")
    assert m.entity_iri("person:キム・ヨンチョル") == URIRef(DEFAULT_BASE + "person/キムヨンチョル")
    assert m.entity_iri("org:ＣＩＡ") == URIRef(DEFAULT_BASE + "org/CIA")  # NFKC
    assert m.entity_iri("place:ニュー ヨーク") == m.entity_iri("place:ニューヨーク")
    assert m.doc_iri("000_a87ea9164a9e83dc") == URIRef(DEFAULT_BASE + "doc/000_a87ea9164a9e83dc")


@pytest.mark.parametrize("key", ["ポンペイオ", "person:", "country:US", ""])
def test_bad_entity_key_is_a_mapping_error(key: str) -> None:
    with pytest.raises(MappingError, match=f"bad entity key {re.escape(repr(key))}"):
        Mapper().entity_iri(key)


def test_base_iri_is_configurable_and_checked() -> None:
    g = build_graph([document()], base="http://example.org/kg/")
    subjects = {str(s) for s in g.subjects() if isinstance(s, URIRef)}
    assert subjects and all(s.startswith("http://example.org/kg/") for s in subjects)
    with pytest.raises(MappingError, match="must be an http"):
        Mapper("urn:kg:")
    with pytest.raises(MappingError, match="ending in / or #"):
        Mapper("http://example.org/kg")


def test_gazetteer_qids_and_iso_codes_in_the_mapped_graph() -> None:
    ents = (*entities(), EntityRecord("person:Q473239", "Official", "ポンペオ", ("ポンペイオ",),
                                      wikidata="Q473239", evidence=(ev(S1),)))
    g = build_graph([document(ents=ents)])
    pompeo = URIRef(DEFAULT_BASE + "person/Q473239")
    assert (pompeo, OWL.sameAs, WD.Q473239) in g
    russia = URIRef(DEFAULT_BASE + "state/RU")
    assert (russia, DIP.isoCode, Literal("RU")) in g
    assert (russia, OWL.sameAs, WD.Q159) in g


@pytest.mark.slow
def test_seed_graph_uses_qids_for_known_people_and_iso_codes_for_states(seed_build: Path) -> None:
    g = Graph().parse(seed_build / "graph.ttl")
    pompeo = URIRef(DEFAULT_BASE + "person/Q473239")
    assert (pompeo, RDF.type, DIP.Official) in g
    assert (pompeo, OWL.sameAs, WD.Q473239) in g
    # every person known to Wikidata is named by its QID
    for person, qid in g.subject_objects(OWL.sameAs):
        if types(g, person) & {DIP.Person, DIP.Official}:  # type: ignore[arg-type]
            assert str(person) == DEFAULT_BASE + "person/" + str(qid).rsplit("/", 1)[1]
    states = set(g.subjects(RDF.type, DIP.State))
    assert {str(s)[len(DEFAULT_BASE):] for s in states} >= {"state/US", "state/KP", "state/RU"}
    for s in states:
        code = str(s)[len(DEFAULT_BASE + "state/"):]
        assert re.fullmatch(r"[A-Z]{2}", code), s
        assert (s, DIP.isoCode, Literal(code)) in g


# ---- escaping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("キム・ヨンチョル", "キム・ヨンチョル"),
        ("金正恩", "金正恩"),
        ("ASEAN-地域.フォーラム_2~", "ASEAN-地域.フォーラム_2~"),
        ("a b", "a%20b"),
        ("日米/首脳", "日米%2F首脳"),
        ("国連#安保理", "国連%23安保理"),
        ("100%", "100%25"),
        ("<script>", "%3Cscript%3E"),
        ('"q"', "%22q%22"),
        ("a\tb\nc\x00d\x7f", "a%09b%0Ac%00d%7F"),
        ("全角\u3000空白", "全角%E3%80%80空白"),
        ("ゼロ\u200b幅", "ゼロ%E2%80%8B幅"),
        ("{|}^`\\", "%7B%7C%7D%5E%60%5C"),
        ("?&=+:;,", "%3F%26%3D%2B%3A%3B%2C"),
        ("", "_"),
    ],
)
def test_iri_escape(raw: str, escaped: str) -> None:
    assert iri_escape(raw) == escaped


def test_iri_escape_is_injective_on_percent_signs() -> None:
    assert iri_escape("日米/首脳") != iri_escape("日米%2F首脳")


NASTY = ["a b", "日米/首脳", "国連#安保理", "100%", "<x>", '"q"', "c\x01d", "全角\u3000空白", "{|}^`\\", "x?y=z",
         "キム・ヨンチョル", "末尾."]


def test_escaped_iris_survive_a_turtle_round_trip() -> None:
    m = Mapper()
    g = Graph()
    for i, name in enumerate(NASTY):
        g.add((m.doc_iri(name), RDF.type, DIP.Document))
        g.add((m.entity_iri(f"org:{name}"), RDFS.label, Literal(name, lang="ja")))
        g.add((m.entity_iri(f"place:{name}"), DIP.locatedIn, m.entity_iri(f"state:{name}")))
        g.add((m.doc_iri(name), DIP.sha256, Literal(str(i))))
    data = turtle_bytes(g)
    back = Graph().parse(data=data, format="turtle")
    assert set(back) == set(g)
    assert set(Graph().parse(data=jsonld_bytes(g), format="json-ld")) == set(g)
    ds = Dataset()
    for t in g:
        ds.graph(URIRef("https://example.org/g")).add(t)
    back_ds = Dataset()
    back_ds.parse(data=trig_bytes(ds), format="trig")
    assert {(s, p, o) for s, p, o, _ in back_ds.quads()} == set(g)
    assert len({m.doc_iri(n) for n in NASTY}) == len(NASTY)
    for s in g.subjects():
        assert not re.search(r"[\x00-\x20<>\"{}|^`\\]", str(s)), s


# ---- evidence, provenance and refusals ---------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 2, 3, 4], ids=["position", "meeting", "visit", "quote"])
def test_statement_without_evidence_is_refused(index: int) -> None:
    s = statements()[index]
    bare = dataclasses.replace(s, evidence=())
    g = Graph()
    with pytest.raises(MappingError, match=f"a {s.kind} statement has no evidence"):
        Mapper().add_statement(g, bare, Mapper().doc_iri(DOC))
    assert len(g) == 0
    with pytest.raises(MappingError, match="has no evidence"):
        build_graph([document(stmts=(bare,))])


@pytest.mark.parametrize("participants", [(LAVROV,), (LAVROV, LAVROV), ()], ids=["one", "same-twice", "none"])
def test_meeting_needs_two_participants(participants: tuple[str, ...]) -> None:
    s = MeetingStatement(participants, evidence=(ev(S1),))
    with pytest.raises(MappingError, match="needs at least two participants"):
        build_graph([document(stmts=(s,))])


def test_unknown_status_and_class_are_mapping_errors() -> None:
    with pytest.raises(MappingError, match="unknown status 'done'"):
        build_graph([document(stmts=(MeetingStatement((LAVROV, RI), status="done", evidence=(ev(S1),)),))])
    with pytest.raises(MappingError, match="unknown class 'Dinner'"):
        build_graph([document(stmts=(MeetingStatement((LAVROV, RI), "Dinner", evidence=(ev(S1),)),))])


@pytest.mark.parametrize(
    ("value", "datatype"),
    [("2018-05-31", XSD.date), ("2019-02", XSD.gYearMonth), ("2019", XSD.gYear)],
)
def test_dates_keep_their_precision(value: str, datatype: URIRef) -> None:
    stmts = (
        MeetingStatement((LAVROV, RI), start=value, doc_id=DOC, evidence=(ev(S1),)),
        VisitStatement(LAVROV, "state:KP", start=value, doc_id=DOC, evidence=(ev(S1),)),
        QuoteStatement("とてもよかった", LAVROV, date=value, doc_id=DOC, evidence=(ev(S2),)),
    )
    g = build_graph([document(stmts=stmts)])
    m = Mapper()
    lit = Literal(value, datatype=datatype)
    assert list(g.objects(m.meeting_iri(stmts[0]), DIP.startDate)) == [lit]
    assert list(g.objects(m.visit_iri(stmts[1]), DIP.startDate)) == [lit]
    assert list(g.objects(m.quote_iri(stmts[2]), DIP.date)) == [lit]
    assert validate_graph(g).conforms


def test_range_has_start_and_end() -> None:
    s = MeetingStatement((LAVROV, RI), start="2018-05-30", end="2018-05-31", doc_id=DOC, evidence=(ev(S1),))
    g = build_graph([document(stmts=(s,))])
    node = Mapper().meeting_iri(s)
    assert g.value(node, DIP.startDate) == Literal("2018-05-30", datatype=XSD.date)
    assert g.value(node, DIP.endDate) == Literal("2018-05-31", datatype=XSD.date)


def test_malformed_date_is_a_mapping_error() -> None:
    s = MeetingStatement((LAVROV, RI), start="2018/05/31", evidence=(ev(S1),))
    with pytest.raises(MappingError, match="not an ISO date"):
        build_graph([document(stmts=(s,))])


EVENT_CLASSES = {DIP.Meeting, DIP.Summit, DIP.PhoneCall, DIP.Visit, DIP.Quote, DIP.Position}


def check_evidence(g: Graph, texts: dict[str, str]) -> int:
    """Every statement node is derived from its document and annotated with the sentence it came from.
    Returns the number of statement nodes checked."""
    n = 0
    for node in sorted({s for c in EVENT_CLASSES for s in g.subjects(RDF.type, c)}):
        n += 1
        docs = set(g.objects(node, PROV.wasDerivedFrom))
        assert docs, f"{node}: no prov:wasDerivedFrom"
        for d in docs:
            assert (d, RDF.type, DIP.Document) in g
        annotations = set(g.subjects(OA.hasBody, node))
        assert annotations, f"{node}: no evidence annotation"
        for a in annotations:
            assert (a, RDF.type, OA.Annotation) in g
            target = g.value(a, OA.hasTarget)
            source = g.value(target, OA.hasSource)
            assert source in docs
            doc_id = str(g.value(source, URIRef("http://purl.org/dc/terms/identifier")))
            selectors = set(g.objects(target, OA.hasSelector))
            (pos,) = [s for s in selectors if (s, RDF.type, OA.TextPositionSelector) in g]
            (quote,) = [s for s in selectors if (s, RDF.type, OA.TextQuoteSelector) in g]
            start, end = g.value(pos, OA.start), g.value(pos, OA.end)
            assert start.datatype == end.datatype == XSD.integer and start.toPython() >= 0
            exact = g.value(quote, OA.exact)
            assert exact.language == "ja"
            assert texts[doc_id][start.toPython():end.toPython()] == str(exact), (node, start, end)
    return n


def test_statement_nodes_carry_provenance_and_evidence() -> None:
    g = build_graph([document()])
    assert check_evidence(g, {DOC: TEXT}) == 5  # 2 positions, a meeting, a visit, a quote
    quote = Mapper().quote_iri(statements()[4])
    (a,) = g.subjects(OA.hasBody, quote)
    assert g.value(a, DIP.rule) == Literal("test.rule")
    assert g.value(a, DIP.confidence) == Literal("0.8", datatype=XSD.decimal)  # canonical, as a store keeps it
    assert g.value(a, DIP.extractorVersion) == Literal("kg-test")
    assert str(g.value(URIRef(f"{a}-quote"), OA.exact)) == S2


@pytest.mark.slow
def test_seed_evidence_offsets_slice_the_sentence_out_of_the_article(seed_build: Path) -> None:
    g = Graph().parse(seed_build / "graph.ttl")
    art = read_text_file(SEED_TXT)
    n = check_evidence(g, {art.doc_id: art.text})
    assert n >= 20
    assert set(g.subjects(RDF.type, DIP.Meeting)) and set(g.subjects(RDF.type, DIP.Quote))


# ---- types ----------------------------------------------------------------------------------


def test_an_official_is_not_also_typed_person() -> None:
    m = Mapper()
    key = "person:Q473239"
    node = m.entity_iri(key)
    person = EntityRecord(key, "Person", "ポンペオ", evidence=(ev(S1),))
    official = EntityRecord(key, "Official", "ポンペオ", evidence=(ev(S1),))
    # Person first, then Official
    g = build_graph([document(stmts=(), ents=(person, official))])
    assert types(g, node) == {DIP.Official}
    # Official first, then Person
    g = build_graph([document(stmts=(), ents=(official, person))])
    assert types(g, node) == {DIP.Official}
    # a Person who holds a post is an Official
    pos = PositionStatement(key, "国務長官", "国務長官", "state:US", evidence=(ev(S1),))
    g = build_graph([document(stmts=(pos,), ents=(person,))])
    assert types(g, node) == {DIP.Official}
    # a Person who holds no post stays a Person
    g = build_graph([document(stmts=(), ents=(person,))])
    assert types(g, node) == {DIP.Person}


def test_position_is_labelled_and_the_holder_represents_the_state() -> None:
    g = build_graph([document()])
    lavrov, russia = Mapper().entity_iri(LAVROV), Mapper().entity_iri("state:RU")
    (pos,) = g.objects(lavrov, DIP.holds)
    assert g.value(pos, DIP.postIn) == russia
    assert g.value(pos, RDFS.label) == Literal("外務大臣 (ロシア)", lang="ja")
    assert g.value(pos, DIP.title) == Literal("外相", lang="ja")
    assert (lavrov, DIP.represents, russia) in g


def test_mapped_document_conforms() -> None:
    g = build_graph([document()])
    result = validate_graph(g)
    assert result.conforms, result.text
    for node in g.subjects(RDF.type, None):
        assert len(types(g, node)) == 1, node  # type: ignore[arg-type]


@pytest.mark.slow
def test_seed_graph_has_one_type_per_node(seed_build: Path) -> None:
    g = Graph().parse(seed_build / "graph.ttl")
    officials = set(g.subjects(RDF.type, DIP.Official))
    assert len(officials) >= 5
    assert not officials & set(g.subjects(RDF.type, DIP.Person))
    multi = [n for n in set(g.subjects(RDF.type, None)) if len(types(g, n)) != 1]  # type: ignore[arg-type]
    assert multi == []
