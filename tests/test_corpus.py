"""Corpus builds: incremental rebuilds, worker processes, one event reported by several articles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from kg.build.events import cluster_events, date_range
from kg.build.pipeline import build
from kg.namespaces import DIP, OA, PROV
from kg.records import Article, DocumentStatements, Evidence, MeetingStatement, VisitStatement

pytestmark = pytest.mark.slow

# Two reports of the Kono–Wang Yi talks in Beijing, one later article with a different day,
# and an unrelated article.
R1 = {"id": "r1", "published": "2018-01-29",
      "text": "河野太郎外相は28日、北京で中国の王毅外相と会談した。両外相は関係改善の流れを確認した。"}
R2 = {"id": "r2", "published": "2018-01-28",
      "text": "中国の王毅外相は28日、北京を訪問した日本の河野太郎外相と会談し、関係改善で一致した。"}
R3 = {"id": "r3", "published": "2018-01-30",
      "text": "河野太郎外相は29日、北京で中国の王毅外相と会談したと外務省が発表した。"}
OTHER = {"id": "o1", "published": "2018-06-01",
         "text": "ロシアのラブロフ外相は31日、北朝鮮の首都ピョンヤンに到着し、リ・ヨンホ外相と会談しました。"}


def write_corpus(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def outputs(out: Path) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in ("graph.ttl", "graph.trig", "graph.jsonld", "statements.jsonl")}


def test_incremental_build_equals_a_build_from_scratch(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    inc = tmp_path / "inc"
    # first build, then grow the corpus, edit an article, remove one: each time compare with scratch
    steps = [
        [R1, OTHER],
        [R1, OTHER, R2],  # grown
        [R1, {**OTHER, "text": OTHER["text"].replace("31日", "30日")}, R2],  # edited
        [R2, {**OTHER, "text": OTHER["text"].replace("31日", "30日")}],  # removed r1
    ]
    for i, rows in enumerate(steps):
        write_corpus(corpus, rows)
        build([corpus], inc)
        scratch = tmp_path / f"scratch{i}"
        build([corpus], scratch, use_cache=False)
        assert outputs(inc) == outputs(scratch), f"step {i}"
        cached = sorted((inc / ".kg-cache").glob("*.jsonl"))
        assert len(cached) == len(rows), "one cache entry per article, stale ones dropped"
    g = Graph().parse(inc / "graph.ttl")
    docs = {str(d) for d in g.subjects(PROV.wasDerivedFrom, None)} and {
        str(o) for o in g.objects(None, PROV.wasDerivedFrom)}
    assert not any(d.endswith("/doc/r1") for d in docs), "a removed article contributes nothing"


def test_unchanged_articles_are_not_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_corpus(tmp_path / "c.jsonl", [R1, OTHER])
    out = tmp_path / "out"
    build([corpus], out)
    parsed: list[str] = []
    import kg.build.pipeline as pipeline

    real = pipeline._extract_batch

    def spy(batch: list[Article]) -> list[DocumentStatements]:
        parsed.extend(a.doc_id for a in batch)
        return real(batch)

    monkeypatch.setattr(pipeline, "_extract_batch", spy)
    write_corpus(corpus, [R1, OTHER, R2])
    build([corpus], out, jobs=1)
    assert parsed == ["r2"]


def test_two_workers_give_the_same_graph_as_one(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.jsonl", [R1, R2, R3, OTHER])
    one, two = tmp_path / "one", tmp_path / "two"
    build([corpus], one, jobs=1, use_cache=False)
    build([corpus], two, jobs=2, use_cache=False)
    assert outputs(one) == outputs(two)


def test_one_meeting_reported_by_two_articles_is_one_node_with_two_sources(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.jsonl", [R1, R2, OTHER])
    out = tmp_path / "out"
    result = build([corpus], out)
    assert result.conforms
    g = Graph().parse(out / "graph.ttl")
    kono_wang = [m for m in g.subjects(DIP.participant, URIRef("https://w3id.org/dipkg/id/person/王毅"))
                 if (m, DIP.participant, URIRef("https://w3id.org/dipkg/id/person/河野")) in g]
    assert len(set(kono_wang)) == 1
    m = kono_wang[0]
    sources = {str(d).rsplit("/", 1)[-1] for d in g.objects(m, PROV.wasDerivedFrom)}
    assert sources == {"r1", "r2"}
    assert str(g.value(m, DIP.startDate)) == "2018-01-28"
    # each article adds evidence
    assert len(list(g.subjects(OA.hasBody, m))) >= 2


def test_conflicting_dates_are_kept_with_their_sources() -> None:
    ev = Evidence("r3", 0, 10, "河野太郎外相は29日、…", "meeting.comitative", 0.8)
    a = MeetingStatement(("person:河野", "person:王毅"), start="2018-01-28", end="2018-01-29", doc_id="r1",
                         evidence=(Evidence("r1", 0, 10, "…", "meeting.comitative", 0.8),))
    b = MeetingStatement(("person:河野", "person:王毅"), start="2018-01-29", doc_id="r3", evidence=(ev,))
    docs = [DocumentStatements(Article("r1", ""), (), (a,)), DocumentStatements(Article("r3", ""), (), (b,))]
    clusters = cluster_events(docs)
    assert clusters[("r1", 0)] is clusters[("r3", 0)]
    cl = clusters[("r1", 0)]
    assert (cl.start, cl.end, cl.documents) == ("2018-01-28", "2018-01-29", ("r1", "r3"))
    from kg.build.mapping import Mapper
    from kg.namespaces import bind_prefixes

    g = bind_prefixes(Graph())
    mapper = Mapper()
    for d in docs:
        mapper.add_document(g, d, clusters)
    reported = {str(v) for v in g.objects(None, DIP.reportedStartDate)}
    assert reported == {"2018-01-29"}, "the report that said the 29th keeps its date on its evidence"
    assert len(set(g.subjects(DIP.participant, None))) == 1


@pytest.mark.parametrize(
    ("a", "b", "merged"),
    [
        # same participants, overlapping dates: one event
        (MeetingStatement(("p:a", "p:b"), start="2019-02"), MeetingStatement(("p:b", "p:a"), start="2019-02-27"), True),
        # no date on one side: not the same occasion as far as the text says
        (MeetingStatement(("p:a", "p:b")), MeetingStatement(("p:a", "p:b"), start="2019-02-27"), False),
        # a phone call is not the talks in person
        (MeetingStatement(("p:a", "p:b"), event_class="PhoneCall", start="2019-02-27"),
         MeetingStatement(("p:a", "p:b"), start="2019-02-27"), False),
        # different places
        (MeetingStatement(("p:a", "p:b"), start="2019-02-27", location="place:ハノイ"),
         MeetingStatement(("p:a", "p:b"), start="2019-02-27", location="place:北京"), False),
        # days apart
        (MeetingStatement(("p:a", "p:b"), start="2019-02-27"), MeetingStatement(("p:a", "p:b"), start="2019-06-30"),
         False),
        (VisitStatement("p:a", "state:KP", start="2018-05-31"), VisitStatement("p:a", "state:KP", start="2018-05"), True),
        (VisitStatement("p:a", "state:KP", start="2018-05-31"), VisitStatement("p:a", "state:CN", start="2018-05-31"),
         False),
    ],
)
def test_when_two_reports_are_one_event(a: MeetingStatement | VisitStatement,
                                        b: MeetingStatement | VisitStatement, merged: bool) -> None:
    docs = [DocumentStatements(Article("d1", ""), (), (a,)), DocumentStatements(Article("d2", ""), (), (b,))]
    clusters = cluster_events(docs)
    assert (("d1", 0) in clusters and clusters.get(("d1", 0)) is clusters.get(("d2", 0))) == merged


def test_partial_dates_cover_their_month_and_year() -> None:
    assert [d.isoformat() for d in date_range("2019-02")] == ["2019-02-01", "2019-02-28"]
    assert [d.isoformat() for d in date_range("2020")] == ["2020-01-01", "2020-12-31"]
    assert date_range("2018-05-31")[0] == date_range("2018-05-31")[1]
    assert date_range(None) is None


# ---- the same article read twice ---------------------------------------------------------------

SEED = Path(__file__).resolve().parent.parent / "seeds"
EVENTS = ("Meeting", "Summit", "PhoneCall", "Visit")


@pytest.fixture(scope="module")
def seed_events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """The events of the seed article built alone."""
    result = build([SEED], tmp_path_factory.mktemp("seed") / "out", use_cache=False)
    counts = {k: result.class_counts.get(k, 0) for k in EVENTS}
    assert counts["Summit"] and counts["Visit"]
    return counts


def _copy_seed(folder: Path, name: str | None, sidecar: bool) -> Path:
    folder.mkdir(parents=True)
    txt = next(SEED.glob("*.txt"))
    stem = name or txt.stem
    (folder / f"{stem}.txt").write_bytes(txt.read_bytes())
    if sidecar:
        (folder / f"{stem}.meta.json").write_bytes(txt.with_name(txt.stem + ".meta.json").read_bytes())
    return folder


@pytest.mark.parametrize("name", [None, "copy_of_the_story"], ids=["same-name", "other-name"])
@pytest.mark.parametrize("sidecars", ["both", "one"])
def test_the_seed_twice_gives_the_seeds_events(tmp_path: Path, seed_events: dict[str, int], name: str | None,
                                                sidecars: str) -> None:
    a = _copy_seed(tmp_path / "agency", None, sidecar=True)
    b = _copy_seed(tmp_path / "paper" / "intl", name, sidecar=sidecars == "both")
    out = tmp_path / "out"
    result = build([a, b], out, use_cache=False)
    assert not result.skipped, result.skipped
    assert result.documents == 1 and result.merged == 1
    assert {k: result.class_counts.get(k, 0) for k in EVENTS} == seed_events
    doc = json.loads((out / "statements.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert [Path(s).parent.name for s in doc["sources"]] == ["agency", "intl"]
    assert doc["published"], "the copy with a sidecar gives the date"


def test_a_copy_differing_in_spacing_and_punctuation_is_the_same_document(tmp_path: Path) -> None:
    r1b = {**R1, "id": "r1-copy", "text": R1["text"].replace("、", " ").replace("。", "。\n\n"),
           "url": "https://example.org/r1-copy"}
    corpus = write_corpus(tmp_path / "c.jsonl", [{**R1, "url": "https://example.org/r1"}, r1b, OTHER])
    result = build([corpus], tmp_path / "out", use_cache=False)
    assert result.documents == 2 and result.merged == 1
    g = Graph().parse(tmp_path / "out" / "graph.ttl")
    from kg.namespaces import SCHEMA

    urls = {str(u) for u in g.objects(URIRef("https://w3id.org/dipkg/id/doc/r1"), SCHEMA.url)}
    assert urls == {"https://example.org/r1", "https://example.org/r1-copy"}
    assert (URIRef("https://w3id.org/dipkg/id/doc/r1-copy"), None, None) not in g


def _undated(doc: str, published: str, location: str | None = "place:北京",
             event_class: str = "Meeting") -> DocumentStatements:
    ev = Evidence(doc, 0, 10, "…", "meeting.comitative", 0.8)
    m = MeetingStatement(("person:河野", "person:王毅"), event_class=event_class, location=location, doc_id=doc,
                         evidence=(ev,))
    return DocumentStatements(Article(doc, "", published=published), (), (m,))


@pytest.mark.parametrize(("b", "merged"), [
    (_undated("b", "2018-01-30"), True),  # two days later: the same occasion
    (_undated("b", "2018-01-31"), True),  # the window's edge (three days)
    (_undated("b", "2018-02-01"), False),  # four days later: another occasion
    (_undated("b", "2018-01-29", location="place:東京"), False),  # another place
    (_undated("b", "2018-01-29", location=None), False),  # a place against none
    (_undated("b", "2018-01-29", event_class="Summit"), False),  # another class
])
def test_undated_reports_are_one_event_within_the_window(b: DocumentStatements, merged: bool) -> None:
    from kg.build.events import UNDATED_WINDOW_DAYS

    assert UNDATED_WINDOW_DAYS == 3
    clusters = cluster_events([_undated("a", "2018-01-28"), b])
    assert (("a", 0) in clusters and clusters[("a", 0)] is clusters.get(("b", 0))) is merged


def test_an_undated_report_is_not_merged_with_a_dated_one() -> None:
    dated = _undated("b", "2018-01-28")
    s = dated.statements[0]
    dated = DocumentStatements(dated.article, (), (MeetingStatement(**{**s.__dict__, "start": "2018-01-28"}),))
    assert cluster_events([_undated("a", "2018-01-28"), dated]) == {}


def test_clustering_is_linear_in_the_reports_of_one_pair() -> None:
    """Ten thousand reports of one pair of ministers, a month apart each: no pair compared twice over."""
    import time

    from kg.build.events import EventReport, cluster_reports

    fam = ("meeting", "meeting", "person:河野", "person:王毅")
    start = date_range("2000-01-01")[0]  # type: ignore[index]
    import datetime as dt

    reports = [EventReport(f"d{i}", 0, fam, "Meeting", (start + dt.timedelta(days=30 * i)).isoformat(), None,
                           None, "held", None) for i in range(10_000)]
    reports += [EventReport(f"e{i}", 0, fam, "Meeting", (start + dt.timedelta(days=30 * i)).isoformat(), None,
                            None, "held", None) for i in range(10_000)]
    t0 = time.process_time()
    clusters = cluster_reports(reports)
    assert time.process_time() - t0 < 5  # quadratic would be 2·10^8 comparisons
    assert len({id(c) for c in clusters.values()}) == 10_000


def test_the_on_disk_event_table_clusters_as_the_records_in_memory(tmp_path: Path) -> None:
    """The build keeps the event records in a table on disk: the same clusters, article by article, as
    clustering the records in memory, on a mix of dated, partial-date, undated, place and kind cases."""
    import random

    from kg.build.events import EventReport, EventTable, cluster_reports

    rng = random.Random(7)
    pairs = [("person:河野", "person:王毅"), ("person:A", "person:B"), ("person:A", "person:C")]
    reports = []
    for d in range(600):
        published = f"2018-0{rng.randint(1, 3)}-{rng.randint(10, 28)}"
        for i in range(rng.randint(1, 3)):
            if rng.random() < 0.2:
                fam = ("visit", rng.choice(["person:A", "person:B"]), rng.choice(["state:KP", "state:CN", ""]))
                cls = None
            else:
                kind = "call" if rng.random() < 0.2 else "meeting"
                fam = ("meeting", kind, *rng.choice(pairs))
                cls = "PhoneCall" if kind == "call" else rng.choice(["Meeting", "Summit"])
            roll = rng.random()
            start = (None if roll < 0.3 else published[:7] if roll < 0.4 else
                     f"{published[:8]}{rng.randint(10, 28)}")
            loc = rng.choice([None, "place:北京", "place:東京"])
            reports.append(EventReport(f"doc{d:04d}", i, fam, cls, start, None, loc,
                                       rng.choice(["held", "planned"]), published))
    expected = cluster_reports(reports)
    assert len({id(c) for c in expected.values()}) > 50, "the mix has events reported by several articles"
    table = EventTable(tmp_path / "events.sqlite")
    for d in sorted({r.doc_id for r in reports}):
        table.add(r for r in reports if r.doc_id == d)
    assert table.cluster() == len(expected)
    got = {(d, i): c for d in sorted({r.doc_id for r in reports}) for i, c in table.clusters_of(d).items()}
    table.close()
    assert got == expected


def test_a_node_named_by_every_article_streams_its_mentions_in_file_order(tmp_path: Path) -> None:
    """The merged node of an official named by 3,000 articles: its dip:mentionedIn triples come from
    disk, in the order of their object, among its other triples as every file orders them, once each."""
    import pyoxigraph as ox

    from kg.build.merge import SharedNodes, merge_subject
    from kg.rdfio import ox_order

    s = "<https://w3id.org/dipkg/id/person/Q1>"
    dip = "https://w3id.org/dipkg/ontology#"
    lines = []
    for seq in range(3000):
        doc = f"<https://w3id.org/dipkg/id/doc/d{(seq * 7919) % 3000}>"  # not in the articles' order
        lines.append((f"{s} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{dip}Official> .\n"
                      f"{s} <http://www.w3.org/2000/01/rdf-schema#label> \"name {seq % 3}\"@ja .\n"
                      f"{s} <{dip}mentionedIn> {doc} .\n{s} <{dip}mentionedIn> {doc} .\n"
                      f"{s} <{dip}wikidataId> \"Q1\" .\n").encode())
    shared = SharedNodes(tmp_path)
    shared.sorter.run_bytes = 1 << 16  # several runs on disk
    for seq, nt in enumerate(lines):
        shared.add(seq, nt + b"<https://w3id.org/dipkg/id/state/JP> <%s> \"x\" .\n" % f"{dip}name".encode())
    nodes = []
    for node in shared.subjects():
        nodes.append((node.head, node.articles, list(node.triples())))
    assert len(shared.sorter.runs) > 1
    (head, articles, triples), (_, jp_articles, jp) = nodes
    assert articles == 3000 and jp_articles == 3000 and len(jp) == 1
    expected = merge_subject([line for nt in lines for line in nt.splitlines(keepends=True)])
    assert triples == expected
    assert sorted(triples, key=ox_order) == triples
    assert sum(1 for t in triples if t.predicate == ox.NamedNode(dip + "mentionedIn")) == 3000
    assert not any(t.predicate == ox.NamedNode(dip + "mentionedIn") for t in head)


def test_the_external_sort_merges_its_runs_when_there_are_many(tmp_path: Path) -> None:
    import random

    from kg.build.merge import ExternalSorter

    rng = random.Random(3)
    lines = [b"%08d line\n" % rng.randrange(10**8) for _ in range(5000)]
    sorter = ExternalSorter(tmp_path, run_bytes=2000, max_runs=4)
    for line in lines:
        sorter.add(line)
    assert 1 <= len(sorter.runs) < 4
    assert list(sorter) == sorted(lines)
    assert not list(tmp_path.iterdir()), "the runs are removed once read"


def test_a_large_merged_node_written_in_parts_is_the_same_graph(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A merged node of more than _SUBJECT_TRIPLES triples is written in parts: graph.ttl and
    graph.jsonld still hold the same graph as when it is written whole."""
    import kg.build.pipeline as pipeline
    from kg.rdfio import parse_rdf_file

    corpus = write_corpus(tmp_path / "c.jsonl", [R1, R2, R3, OTHER])
    whole = tmp_path / "whole"
    build([corpus], whole, use_cache=False, jobs=1)
    monkeypatch.setattr(pipeline, "_SUBJECT_TRIPLES", 2)
    parts = tmp_path / "parts"
    build([], parts, statements_file=whole / "statements.jsonl", jobs=1)
    assert (parts / "graph.ttl").read_bytes() != (whole / "graph.ttl").read_bytes()
    for name, fmt in (("graph.ttl", "turtle"), ("graph.jsonld", "json-ld")):
        a, b = parse_rdf_file(whole / name, fmt), parse_rdf_file(parts / name, fmt)
        assert len(a) == len(b) > 100 and set(a) == set(b), name


def test_progress_is_plain_lines_off_a_terminal_and_nothing_with_quiet(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import kg.build.pipeline as pipeline
    from kg.cli import main

    monkeypatch.setattr(pipeline, "PROGRESS_EVERY", 0.0)  # a line at every step instead of every 10 s
    corpus = write_corpus(tmp_path / "c.jsonl", [R1, R2, R3, OTHER])
    res = CliRunner().invoke(main, ["build", str(corpus), "-o", str(tmp_path / "out"), "-j", "1"])
    assert res.exit_code == 0, res.output
    lines = res.stderr.splitlines()  # CliRunner's stderr is no terminal, as in a CI log
    assert "extracting: 4/4 article(s) (100 %)" in "\n".join(lines), lines
    assert any(line.startswith("mapping and validating: 4/4 article(s) (100 %), ") for line in lines), lines
    assert not any("\r" in line or "\x1b" in line for line in lines), "no bar drawing off a terminal"
    res = CliRunner().invoke(main, ["build", str(corpus), "-o", str(tmp_path / "out"), "-j", "1", "--quiet",
                                    "--no-cache"])
    assert res.exit_code == 0 and res.stderr == "" and res.stdout == ""


def test_a_rebuild_reuses_each_unchanged_articles_mapped_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.build.pipeline as pipeline

    corpus = write_corpus(tmp_path / "c.jsonl", [R1, OTHER])
    out = tmp_path / "out"
    build([corpus], out, jobs=1)
    cache = out / ".kg-cache"
    assert sorted(p.suffix for p in cache.iterdir()) == [".jsonl", ".jsonl", ".rdf", ".rdf"]
    assert {p.stem for p in cache.glob("*.rdf")} == {p.stem for p in cache.glob("*.jsonl")}
    before = outputs(out)
    mapped: list[str] = []
    real = pipeline.map_article

    def spy(ds: DocumentStatements, *args: object) -> object:
        mapped.append(ds.article.doc_id)
        return real(ds, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "map_article", spy)
    build([corpus], out, jobs=1)
    assert mapped == [] and outputs(out) == before
    write_corpus(corpus, [R1, {**OTHER, "text": OTHER["text"].replace("31日", "30日")}])
    build([corpus], out, jobs=1)
    assert mapped == ["o1"]


def _pid(_: tuple) -> int:
    import os
    import time

    time.sleep(0.05)  # long enough that both workers take tasks
    return os.getpid()


def test_mapping_workers_are_forked_before_the_corpus_is_read_and_stopped_when_unused() -> None:
    """``-j N`` forks its mapping workers before the corpus step reads the documents (a worker forked
    later starts with a copy of the corpus's event records), the mapping runs on exactly those, and
    workers no mapping took over are stopped."""
    import os

    import psutil

    from kg.build.pipeline import LocalRunner

    runner = LocalRunner(2)
    runner.prepare()
    forked = {c.pid for c in psutil.Process().children() if c.is_running()}
    assert len(forked) >= 2
    used = set(runner.map_in_order(iter([()] * 20), _pid))
    assert used <= forked and os.getpid() not in used and len(used) == 2

    unused = LocalRunner(2)
    unused.prepare()
    workers = [c for c in psutil.Process().children() if c.pid not in forked]
    assert len(workers) >= 2
    unused.discard()
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
