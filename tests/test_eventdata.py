"""kg export --format plover|cameo on real builds, read back the way researchers read event data:
every PLOVER record against the JSON Schema written from the PLOVER manual (jsonschema), the
CAMEO rows with pandas, one record per real event on the 20-copy corpus, the seed's records field
by field, and the dev articles' event counts against the graph's, per status."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.readers.eventdata import CAMEO_COLUMNS, CAMEO_DTYPES
from kg.readers.stats import load_graph

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "kg" / "data" / "plover.schema.json").read_text(encoding="utf-8"))
# ../shared/eval/dev beside the repository (a worktree one level deeper finds it one level up)
DEV = next((p for p in (ROOT.parent / "shared" / "eval" / "dev", ROOT.parent.parent / "shared" / "eval" / "dev")
            if p.is_dir()), ROOT.parent / "shared" / "eval" / "dev")

# every meeting and visit that is not part of another, per status: what one record per event must give
EVENTS_PER_STATUS = """
PREFIX dip: <https://w3id.org/dipkg/ontology#>
SELECT ?status (COUNT(DISTINCT ?event) AS ?n) WHERE {
  VALUES ?cls { dip:Meeting dip:Summit dip:PhoneCall dip:Visit }
  ?event a ?cls ; dip:status ?status .
  FILTER NOT EXISTS { ?event dip:partOf ?whole }
} GROUP BY ?status
"""


def export(build: Path, fmt: str, out: Path, *extra: str) -> Path:
    target = out / f"events.{fmt}"
    res = CliRunner().invoke(main, ["export", str(build), "--format", fmt, "-o", str(target), *extra])
    assert res.exit_code == 0, res.output
    return target


def read_plover(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_cameo(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=CAMEO_DTYPES, keep_default_na=False, na_values=[""])


def graph_counts(build: Path) -> dict[str, int]:
    g = load_graph(build)
    return {str(row.status).rsplit("#", 1)[-1].lower(): int(row.n) for row in g.query(EVENTS_PER_STATUS)}


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("fixture", ["seed_build", "corpus_build"])
def test_every_plover_record_validates_against_the_schema(fixture: str, request: pytest.FixtureRequest,
                                                          tmp_path: Path) -> None:
    records = read_plover(export(request.getfixturevalue(fixture), "plover", tmp_path, "--include-cancelled"))
    assert records
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for r in records:
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(r)]
        assert not errors, (r["id"], errors)


def test_the_cameo_file_parses_with_pandas_with_the_documented_dtypes(corpus_build: Path, tmp_path: Path) -> None:
    df = read_cameo(export(corpus_build, "cameo", tmp_path))
    assert tuple(df.columns) == CAMEO_COLUMNS
    assert {c: str(t) for c, t in df.dtypes.items()} == {
        c: ("string" if t == "string" else t) for c, t in CAMEO_DTYPES.items()}
    assert set(df["CAMEO Code"]) <= {"036", "040", "041", "042", "043", "044", "045", "046"}
    assert (df["Num Reports"] >= 1).all()
    # plain read_csv(sep="\t") reads the same rows and columns
    plain = pd.read_csv(tmp_path / "events.cameo", sep="\t")
    assert plain.shape == df.shape


def test_seed_records_field_by_field(seed_build: Path, tmp_path: Path) -> None:
    records = read_plover(export(seed_build, "plover", tmp_path, "--include-cancelled"))

    def ent(ps: list[dict]) -> list[tuple]:
        return [(p["entity_text"], p["code"], p["sector"], p["role"], p["office"], p["cow"], p["gw"]) for p in ps]

    got = [(r["id"], r["kg_class"], r["status"], r["date"], r["enddate"], r["date_from"], r["event"], r["mode"],
            r["cameo_code"], r["event_scale"], ent(r["actor"]), ent(r["recipient"]),
            r["event_loc"] and (r["event_loc"]["extracted_place"], r["event_loc"]["geonameid"], r["event_loc"]["lat"],
                                r["event_loc"]["lon"], r["event_loc"]["country_code"], r["event_loc"]["resolution"]),
            r["num_reports"], [(x["doc_id"], x["published"], x["urls"]) for x in r["reports"]]) for r in records]
    report = [("000_a87ea9164a9e83dc", "2018-06-01", ["http://d1021.hatenablog.com", "https://d1021.hatenadiary.com"])]
    kim_yong_chol = ("金英哲", "PRK", "PTY", "party", "副委員長", 731, 731)
    pompeo = ("ポンペオ", "USA", "GOV", "foreign_ministry", "国務長官", 2, 2)
    lavrov = ("ラブロフ", "RUS", "GOV", "foreign_ministry", "外相", 365, 365)
    ri_yong_ho = ("李容浩", "PRK", "GOV", "foreign_ministry", "外相", 731, 731)
    kim_jong_un = ("金正恩", "PRK", "PTY", "party", "委員長", 731, 731)
    putin = ("プーチン", "RUS", "GOV", "head_of_state", "大統領", 365, 365)
    trump = ("トランプ", "USA", "GOV", "head_of_state", "大統領", 2, 2)
    north_korea = ("北朝鮮", "PRK", None, "state", None, 731, 731)
    usa = ("アメリカ", "USA", None, "state", None, 2, 2)
    new_york = ("ニューヨーク", 5128581, 40.71427, -74.00597, "USA", 4)
    pyongyang = ("平壌", 1871859, 39.03385, 125.75432, "PRK", 4)
    assert got == [
        # the Pompeo - Kim Yong-chol talks in New York: Kim visits, the United States hosts (CAMEO 042)
        ("kg-meeting-036e24d43f3bafc8", "Meeting", "held", "2018-05-30", "2018-05-31", "event", ["CONSULT"],
         ["visit"], "042", 4.0, [kim_yong_chol], [pompeo], new_york, 1, report),
        ("kg-meeting-639c9fad9483106a", "Meeting", "held", "2018-05-31", None, "event", ["CONSULT"], ["visit"],
         "042", 4.0, [lavrov], [ri_yong_ho], pyongyang, 1, report),
        ("kg-visit-5db72d789d35f144", "Visit", "held", "2018-05-31", None, "event", ["CONSULT"], ["visit"], "042",
         4.0, [lavrov], [north_korea], pyongyang, 1, report),
        ("kg-visit-84d266f35666a66c", "Visit", "held", "2018-06", None, "event", ["CONSULT"], ["visit"], "042", 4.0,
         [pompeo], [north_korea], ("北朝鮮", None, None, None, "PRK", 1), 1, report),
        # a possible summit and a planned one: AGREE, CAMEO 036, every party an actor
        ("kg-meeting-9669e3adc79943e9", "Summit", "possible", "2018-06-01", None, "report", ["AGREE"], [], "036",
         2.5, [kim_jong_un, putin], [], None, 1, report),
        ("kg-meeting-d0daab077c3bc864", "Summit", "planned", "2018-06-01", None, "report", ["AGREE"], [], "036",
         2.5, [trump, kim_jong_un], [], ("シンガポール", None, None, None, "SGP", 1), 1, report),
        ("kg-meeting-f9a19b79760b54ed", "Meeting", "held", "2018-06-01", None, "report", ["CONSULT"], ["visit"],
         "042", 4.0, [lavrov], [kim_jong_un], ("北朝鮮", None, None, None, "PRK", 1), 1, report),
        ("kg-visit-ae0c289c1bc200e8", "Visit", "planned", "2018-06-01", None, "event", ["AGREE"], [], "036", 2.5,
         [north_korea], [usa], ("ワシントン", None, None, None, "USA", None), 1, report),
    ]
    for r in records:  # every report carries its evidence sentences, and they are the record's event_text
        assert all(x["sentences"] for x in r["reports"])
        assert r["event_text"] == sorted({s for x in r["reports"] for s in x["sentences"]})


def test_one_record_per_real_event_on_the_20_copy_corpus(corpus_build: Path, corpus_copies_build: Path,
                                                         tmp_path: Path) -> None:
    from conftest import COPIES

    (tmp_path / "one").mkdir()
    one = {r["iri"]: r for r in read_plover(export(corpus_build, "plover", tmp_path / "one"))}
    copies = read_plover(export(corpus_copies_build, "plover", tmp_path))
    assert max(Counter(r["iri"] for r in copies).values()) == 1  # one record per event node
    assert len(copies) == sum(graph_counts(corpus_copies_build).get(s, 0) for s in ("held", "planned", "possible"))
    dated = [r for r in one.values() if r["date_from"] == "event"]
    assert dated

    def what(r: dict) -> tuple:  # the event itself, whatever its IRI (an event of one article is named by it)
        return (r["kg_class"], r["status"], r["date"], r["enddate"], tuple(p["iri"] for p in r["actor"]),
                tuple(p["iri"] for p in r["recipient"]))

    copied = Counter(what(r) for r in copies)
    for r in dated:  # a dated event of the corpus is one record of the copies, reported COPIES times as often
        assert copied[what(r)] == 1, r["id"]
        c = next(x for x in copies if what(x) == what(r))
        assert c["num_reports"] == COPIES * r["num_reports"], r["id"]
        assert len({x["doc_id"] for x in c["reports"]}) == c["num_reports"]
        assert c["event"] == r["event"] and c["mode"] == r["mode"] and c["cameo_code"] == r["cameo_code"]
    df = read_cameo(export(corpus_copies_build, "cameo", tmp_path))
    assert len(df) == len(copies) and df["Event ID"].is_unique


@pytest.fixture(scope="module")
def dev_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build of the dev articles (``../shared/eval/dev``), with the publication dates of their gold files."""
    texts = sorted(DEV.glob("*.txt"))
    if not texts:
        if os.environ.get("CI"):
            pytest.fail(f"{DEV}: no dev articles")
        pytest.skip(f"{DEV}: no dev articles here")
    from kg.build.pipeline import build

    tmp = tmp_path_factory.mktemp("dev")
    corpus = tmp / "dev.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for t in texts:
            gold = t.with_name(t.name[:-4] + ".gold.json")
            meta = json.loads(gold.read_text(encoding="utf-8")) if gold.is_file() else {}
            fh.write(json.dumps({"id": t.stem, "text": t.read_text(encoding="utf-8"),
                                 "published": meta.get("published")}, ensure_ascii=False) + "\n")
    out = tmp / "out"
    result = build([corpus], out)
    assert result.conforms, result.summary_text
    return out


def test_dev_build_exported_both_ways_counts_the_graphs_events_per_status(dev_build: Path, tmp_path: Path) -> None:
    want = graph_counts(dev_build)
    assert sum(want.values()) > 50 and want.get("held") and want.get("planned")
    records = read_plover(export(dev_build, "plover", tmp_path, "--include-cancelled"))
    assert dict(Counter(r["status"] for r in records)) == want
    df = read_cameo(export(dev_build, "cameo", tmp_path, "--include-cancelled"))
    assert df["Status"].value_counts().to_dict() == want
    # every party's codes are its state's, and a code a list does not have is empty, never another's
    from kg.build.eventcodes import codes

    parties = [p for r in records for p in r["actor"] + r["recipient"] if p["iso3"] or p["cow"] or p["gw"]]
    assert parties
    by_iso3 = {row.get("iso3"): row for row in codes()["states"].values()}
    for p in parties:
        row = by_iso3[p["iso3"]]
        assert (p["cow"], p["gw"], p["code"]) == (row.get("cow"), row.get("gw"), row["plover"]), p
    # without --include-cancelled, the cancelled ones only are left out
    held = read_plover(export(dev_build, "plover", tmp_path))
    assert dict(Counter(r["status"] for r in held)) == {k: v for k, v in want.items() if k != "cancelled"}


def test_dev_build_answers_every_consult_by_telephone_between_two_states(dev_build: Path) -> None:
    """The codes are in the graph: SPARQL asks for CONSULT by telephone between Japan and the United
    States in 2015 (the Kishida - Kerry call of d04) without reading any export."""
    g = load_graph(dev_build)
    rows = list(g.query("""
        PREFIX dip: <https://w3id.org/dipkg/ontology#>
        PREFIX plover: <https://w3id.org/dipkg/plover#>
        SELECT DISTINCT ?e ?start WHERE {
          ?e dip:ploverEvent plover:CONSULT ; dip:ploverMode plover:phone ; dip:status dip:Held ;
             dip:startDate ?start ; dip:participant ?a, ?b .
          ?a dip:represents/dip:isoAlpha3 "JPN" . ?b dip:represents/dip:isoAlpha3 "USA" .
          FILTER(YEAR(?start) = 2015)
        }"""))
    assert [str(r.start) for r in rows] == ["2015-05-26"]


def test_states_and_places_of_a_build_carry_their_codes(corpus_build: Path) -> None:
    g = load_graph(corpus_build)
    rows = {str(r.iso): (r.iso3 and str(r.iso3), r.cow and int(r.cow), r.gw and int(r.gw)) for r in g.query("""
        PREFIX dip: <https://w3id.org/dipkg/ontology#>
        SELECT ?iso ?iso3 ?cow ?gw WHERE { ?s a dip:State ; dip:isoCode ?iso .
          OPTIONAL { ?s dip:isoAlpha3 ?iso3 } OPTIONAL { ?s dip:cowCode ?cow } OPTIONAL { ?s dip:gwCode ?gw } }""")}
    assert rows["US"] == ("USA", 2, 2) and rows["KP"] == ("PRK", 731, 731)
    tokyo_like = list(g.query("""
        PREFIX dip: <https://w3id.org/dipkg/ontology#>
        SELECT ?p ?lat ?lon WHERE { ?p a dip:Place ; dip:geonamesId ?id ; dip:latitude ?lat ; dip:longitude ?lon }"""))
    assert tokyo_like


# --- the command line ----------------------------------------------------------------------------


def test_export_help_shows_both_event_formats_with_an_example() -> None:
    res = CliRunner().invoke(main, ["export", "--help"])
    assert res.exit_code == 0
    assert "plover" in res.output and "cameo" in res.output
    assert "kg export out --format plover -o events.jsonl" in res.output
    assert "kg export out --format cameo -o events.tsv" in res.output


def test_an_unknown_format_is_one_error_line_and_exit_2(seed_build: Path, tmp_path: Path) -> None:
    target = tmp_path / "events.x"
    res = CliRunner().invoke(main, ["export", str(seed_build), "--format", "acled", "-o", str(target)])
    assert res.exit_code == 2
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "acled" in errors[0], res.stderr
    assert not target.exists()


@pytest.mark.parametrize("fmt", ["plover", "cameo"])
def test_a_folder_that_is_not_a_build_is_one_error_line_and_exit_2(fmt: str, tmp_path: Path) -> None:
    folder = tmp_path / "not-a-build"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello", encoding="utf-8")
    target = tmp_path / "events.out"
    res = CliRunner().invoke(main, ["export", str(folder), "--format", fmt, "-o", str(target)])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and str(folder) in lines[0], res.stderr
    assert not target.exists() and list(tmp_path.iterdir()) == [folder]


# --- the researcher's first hour: dyad-months ------------------------------------------------------


def example() -> Any:
    """docs/examples/event_data.py, the worked example of docs/EVENT-DATA.md, as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("event_data_example", ROOT / "docs" / "examples" / "event_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dyad_months_query_on_the_sample(sample_ttl: Path) -> None:
    from kg.readers.query import read_query_file

    g = load_graph(sample_ttl)
    rows = [(str(r.month), str(r.isoA), str(r.isoB), str(r.stateA), str(r.stateB), int(r.events))
            for r in g.query(read_query_file(ROOT / "queries" / "dyad_months.rq"))]
    assert rows == [("2018-05", "KP", "RU", "北朝鮮", "ロシア", 1), ("2018-05", "KP", "US", "北朝鮮", "アメリカ", 1)]


def test_dyad_months_from_the_export_equal_the_query(dev_build: Path, tmp_path: Path) -> None:
    """The few lines of pandas in docs/EVENT-DATA.md count the same dyad-months as queries/dyad_months.rq."""
    res = CliRunner().invoke(main, ["query", str(dev_build), "-f", str(ROOT / "queries" / "dyad_months.rq"),
                                    "--format", "csv"])
    assert res.exit_code == 0, res.output
    from io import StringIO

    query = pd.read_csv(StringIO(res.stdout))[["month", "isoA", "isoB", "events"]]
    events = read_cameo(export(dev_build, "cameo", tmp_path))
    export_counts = example().dyad_months(events).sort_values(["month", "isoA", "isoB"]).reset_index(drop=True)
    assert len(query) > 10
    assert export_counts.to_dict("records") == query.to_dict("records")


def test_the_worked_example_runs_on_the_20_copy_corpus(corpus_copies_build: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The example writes its files and its figure, and counts what docs/EVENT-DATA.md says it counts:
    per-report rows many times the events, and de-duplication on date, pair and code merging events
    that are not the same."""
    example().main(corpus_copies_build, tmp_path)
    assert (tmp_path / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dyads = pd.read_csv(tmp_path / "dyad_months.csv")
    out = capsys.readouterr().out
    rows = example().per_report_rows(tmp_path / "events.jsonl")
    assert len(rows) >= 20 * dyads["events"].sum() / 2  # every copy is a report of its own
    assert rows["event"].nunique() == dyads["events"].sum()
    assert f"kg's records: {rows['event'].nunique()}" in out


def test_a_graph_without_codes_gets_them_computed_by_the_same_rules(sample_ttl: Path, tmp_path: Path) -> None:
    """tests/data/sample.ttl, written by hand, links no event to a concept: the export codes it the way
    a build does, and leaves out the dinner that is part of a visit (dip:partOf)."""
    records = read_plover(export(sample_ttl, "plover", tmp_path, "--include-cancelled"))
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert all(not list(validator.iter_errors(r)) for r in records)
    got = [(r["id"], r["status"], r["event"], r["mode"], r["cameo_code"], [p["code"] for p in r["actor"]],
            [p["code"] for p in r["recipient"]]) for r in records]
    assert got == [
        ("kg-visit-c9c3d11659c119e0", "held", ["CONSULT"], ["visit"], "042", ["PRK"], ["USA"]),
        ("kg-visit-97cdfabc3ac308e1", "held", ["CONSULT"], ["visit"], "042", ["RUS"], ["PRK"]),
        ("kg-meeting-17c79967668a7c3f", "planned", ["AGREE"], [], "036", ["PRK", "USA"], []),
    ]
