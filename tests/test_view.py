"""Tests of kg.readers.view: the embedded data, and the page itself in real headless Chromium.

The browser tests need Chromium (Debian: ``apt-get install chromium``; set ``KG_CHROMIUM`` to use
another binary) and the ``playwright`` Python package (its own browser download is not used).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal, URIRef

from kg.cli import main
from kg.namespaces import DIP, OA, RDF, RDFS
from kg.readers.stats import load_graph
from kg.readers.view import build_view_data, embed_json, render_html, write_view

ID = "https://w3id.org/dipkg/id/"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SHOWN_CLASSES = (
    DIP.Official, DIP.Person, DIP.State, DIP.Organization, DIP.Place,
    DIP.Meeting, DIP.Summit, DIP.PhoneCall, DIP.Visit, DIP.Quote,
)  # fmt: skip
# in tests/data/sample.ttl
DINNER = ID + "meeting/5e80318c9632ed7b"
POMPEO = ID + "person/Q473239"
NASTY = "</script><script>window.__pwned = 1</script></SCRIPT ><!-- & \u2028"


def expected_nodes(graph: Graph) -> set[str]:
    """Nodes the view must show, computed from the RDF independently of kg.readers.view."""
    return {str(s) for cls in SHOWN_CLASSES for s in graph.subjects(RDF.type, cls)}


def evidence_of(graph: Graph, node: str) -> list[str]:
    """oa:exact sentences of the annotations whose body is ``node``."""
    rows = graph.query(
        """SELECT ?exact WHERE { ?a oa:hasBody ?n ; oa:hasTarget/oa:hasSelector/oa:exact ?exact }""",
        initNs={"oa": OA},
        initBindings={"n": URIRef(node)},
    )
    return sorted(str(r[0]) for r in rows)


# --------------------------------------------------------------------------- data, no browser


def test_embed_json_cannot_close_the_script_element() -> None:
    text = embed_json({"label": NASTY})
    assert "</" not in text and "<!--" not in text and "\u2028" not in text
    assert json.loads(text) == {"label": NASTY}


def test_view_data_nodes_evidence_and_sources(sample_ttl: Path) -> None:
    graph = load_graph(sample_ttl)
    data = build_view_data(graph)
    by_id = {n["id"]: n for n in data["nodes"]}
    assert set(by_id) == expected_nodes(graph)
    dinner = by_id[DINNER]
    assert dinner["cls"] == "Meeting" and dinner["start"] == "2018-05-30"
    assert [e["text"] for e in dinner["evidence"]] == evidence_of(graph, DINNER)
    assert dinner["sources"] == ["https://d1021.hatenadiary.com"]
    # an entity gets the sentences of the statements it takes part in (its post, its meetings, its quotes)
    pompeo_sentences = {e["text"] for e in by_id[POMPEO]["evidence"]}
    assert set(evidence_of(graph, DINNER)) <= pompeo_sentences
    assert any("とてもよかった" in s for s in pompeo_sentences)
    assert ("dip:holds", "国務長官・長官 (アメリカ)") in {
        (p["key"], p["text"]) for p in by_id[POMPEO]["props"]
    }
    rels = {(e["from"], e["to"], e["rel"]) for e in data["edges"]}
    assert (DINNER, POMPEO, "PARTICIPANT") in rels
    assert (POMPEO, ID + "state/US", "HOLDS_POST") in rels
    assert {c["id"] for c in data["classes"]} == {str(c).rsplit("#", 1)[1] for c in SHOWN_CLASSES}


def test_render_html_is_self_contained(sample_ttl: Path) -> None:
    page = render_html(build_view_data(load_graph(sample_ttl)))
    assert "{{KG_" not in page
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page, re.IGNORECASE)
    assert "vis-network 10.1.5" in page  # the bundled library, inline
    data = re.search(r'<script type="application/json" id="kg-data">(.*?)</script>', page, re.DOTALL)
    assert data is not None and len(json.loads(data.group(1))["nodes"]) == 19


def test_cli_view_writes_page(sample_ttl: Path, tmp_path: Path) -> None:
    target = tmp_path / "graph.html"
    result = CliRunner().invoke(main, ["view", str(sample_ttl), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "19 nodes" in result.output
    assert not [p for p in tmp_path.iterdir() if p.name != "graph.html"]  # no temp file left


def test_cli_view_bad_input_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "graph.ttl"
    bad.write_text("this is not turtle", encoding="utf-8")
    result = CliRunner().invoke(main, ["view", str(bad), "-o", str(tmp_path / "g.html")])
    assert result.exit_code == 2
    assert f"{bad}: not valid turtle RDF" in result.output


# --------------------------------------------------------------------------- real Chromium

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    path = os.environ.get("KG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path or not Path(path).exists():
        pytest.fail(
            f"Chromium not found{' at ' + path if path else ''}: install it with `apt-get install -y chromium` (Debian) "
            "or set KG_CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    return path


def test_missing_chromium_fails_with_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KG_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y chromium"):
        _chromium()


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    """A real headless Chromium with a fresh profile, driven over CDP by playwright."""
    chromium = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the browser tests need playwright: `pip install playwright` (no browser download)", pytrace=False
        )
    with tempfile.TemporaryDirectory(prefix="kg-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


class Page:
    """An opened view page with what the browser reported while loading it."""

    def __init__(self, context: Any, html_file: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = html_file.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-kg-ready=true]", state="attached", timeout=30_000)

    def details(self) -> str:
        return self.page.inner_text("#kg-details")


@pytest.fixture()
def sample_page(browser_context: Any, sample_ttl: Path, tmp_path: Path) -> Iterator[Page]:
    html_file = tmp_path / "graph.html"
    write_view(load_graph(sample_ttl), html_file, source="sample.ttl")
    page = Page(browser_context, html_file)
    yield page
    page.page.close()


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


@pytest.mark.browser
def test_page_loads_offline_without_errors(sample_page: Page, sample_ttl: Path) -> None:
    page = sample_page.page
    expected = len(expected_nodes(load_graph(sample_ttl)))
    assert sample_page.errors == []
    assert sample_page.requests == [sample_page.url]  # nothing but the file itself: no CDN, no fetch
    assert page.evaluate("window.kgView.nodeCount()") == expected == 19
    assert page.get_attribute("body", "data-kg-node-count") == str(expected)
    assert page.evaluate("window.kgView.network.body.data.nodes.length") == expected
    # a legend entry with a checkbox per class, Japanese captions
    assert page.locator("#kg-legend input[type=checkbox]").count() == 10
    assert "官職者" in page.inner_text("#kg-legend") and "訪問" in page.inner_text("#kg-legend")
    # the canvas really drew the graph: plenty of non-white pixels
    inked = page.evaluate(
        """() => { const c = document.querySelector('#kg-graph canvas');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 0; i < d.length; i += 4) { if (d[i+3] > 0 && d[i] + d[i+1] + d[i+2] < 600) n++; }
                   return n; }"""
    )
    assert inked > 2000


@pytest.mark.browser
def test_click_on_node_shows_evidence_and_sources(sample_page: Page, sample_ttl: Path) -> None:
    page = sample_page.page
    graph = load_graph(sample_ttl)
    assert "ノードをクリック" in sample_page.details()
    pos = page.evaluate("id => window.kgView.domPosition(id)", DINNER)
    page.mouse.click(pos["x"], pos["y"])  # a real click on the node's place on the canvas
    page.wait_for_function(
        "id => document.querySelector('#kg-details').dataset.nodeId === id", arg=DINNER, timeout=5_000
    )
    text = sample_page.details()
    assert "ポンペオ・キム・ヨンチョル 夕食会" in text
    for sentence in evidence_of(graph, DINNER):
        assert sentence in text
    assert "https://d1021.hatenadiary.com" in text
    assert page.evaluate("window.kgView.network.getSelectedNodes()") == [DINNER]
    # the participants are links in the details; following one shows the person with its statements
    page.click(f'#kg-details a.kg-ref[data-ref="{POMPEO}"]')
    text = sample_page.details()
    assert "dip:holds" in text and "国務長官" in text
    assert "「とてもよかった」" in text  # the sentence of the quote the person said
    assert page.locator("#kg-details mark").count() > 0  # the person's names are marked in the sentences
    assert sample_page.errors == []
    # a screenshot of the page with the details of a node open, for people to look at
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "view.png"
    page.screenshot(path=str(shot))
    png = shot.read_bytes()
    assert _png_size(png) == (1400, 900)
    assert len(png) > 20_000


@pytest.mark.browser
def test_class_and_date_filters_hide_nodes(sample_page: Page) -> None:
    page = sample_page.page
    total = page.evaluate("window.kgView.nodeCount()")
    page.uncheck('#kg-legend input[data-class="Quote"]')
    assert page.evaluate("window.kgView.nodeCount()") == total - 3
    hidden = page.evaluate(
        "window.kgView.network.body.data.nodes.get({filter: n => n.hidden}).map(n => n.id)"
    )
    assert len(hidden) == 3 and all("/quote/" in i for i in hidden)
    page.check('#kg-legend input[data-class="Quote"]')
    assert page.evaluate("window.kgView.nodeCount()") == total
    # June 2018: only the planned summit (2018-06) among the events; undated quote stays unless unticked
    page.fill("#kg-date-from", "2018-06-01")
    page.fill("#kg-date-to", "2018-06-30")
    events = page.evaluate("window.kgView.visibleIds().filter(id => /\\/(meeting|visit|quote)\\//.test(id))")
    assert sorted(events) == sorted([ID + "meeting/17c79967668a7c3f", ID + "quote/6fba8d51bb97f70b"])
    page.uncheck("#kg-undated")
    events = page.evaluate("window.kgView.visibleIds().filter(id => /\\/(meeting|visit|quote)\\//.test(id))")
    assert events == [ID + "meeting/17c79967668a7c3f"]
    assert page.evaluate("window.kgView.nodeCount()") == total - 6  # 2 visits, dinner, 3 quotes hidden
    page.click("#kg-date-reset")
    assert page.evaluate("window.kgView.nodeCount()") == total
    assert sample_page.errors == []


@pytest.mark.browser
def test_script_end_tag_in_data_cannot_break_the_page(
    browser_context: Any, sample_ttl: Path, tmp_path: Path
) -> None:
    graph = load_graph(sample_ttl)
    nasty = URIRef(ID + "person/nasty")
    graph.add((nasty, RDF.type, DIP.Person))
    graph.add((nasty, RDFS.label, Literal(NASTY, lang="ja")))
    html_file = tmp_path / "nasty.html"
    write_view(graph, html_file)
    page = Page(browser_context, html_file)
    try:
        assert page.errors == []
        assert page.page.evaluate("typeof window.__pwned") == "undefined"
        assert page.page.evaluate("window.kgView.nodeCount()") == len(expected_nodes(graph)) == 20
        page.page.evaluate("id => window.kgView.select(id)", str(nasty))
        assert NASTY.replace("\u2028", "").strip() in page.details().replace("\u2028", "")
    finally:
        page.page.close()


# --------------------------------------------------------------------------- the real build of the seed article


@pytest.fixture(scope="module")
def seed_out(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `kg build seeds` output: the shared ``seed_build`` fixture when there is one, else built here."""
    try:
        return Path(request.getfixturevalue("seed_build"))
    except pytest.FixtureLookupError:
        out = tmp_path_factory.mktemp("seed") / "out"
        seeds = Path(__file__).resolve().parent.parent / "seeds"
        result = CliRunner().invoke(main, ["build", str(seeds), "-o", str(out)])
        assert (out / "graph.ttl").is_file(), result.output
        return out


@pytest.mark.slow
@pytest.mark.browser
def test_seed_build_view_in_chromium(browser_context: Any, seed_out: Path, tmp_path: Path) -> None:
    graph = load_graph(seed_out)
    html_file = tmp_path / "seed.html"
    result = CliRunner().invoke(main, ["view", str(seed_out), "-o", str(html_file)])
    assert result.exit_code == 0, result.output
    page = Page(browser_context, html_file)
    try:
        assert page.errors == []
        assert page.requests == [page.url]
        expected = expected_nodes(graph)
        assert page.page.evaluate("window.kgView.nodeCount()") == len(expected) > 10
        # a meeting of Pompeo (the seed article is about his talks with Kim Yong Chol), clicked for real
        meeting = next(
            str(m)
            for m in sorted(graph.subjects(DIP.participant, URIRef(ID + "person/Q473239")))
            if evidence_of(graph, str(m))
        )
        page.page.evaluate("id => window.kgView.network.focus(id, {scale: 1.2, animation: false})", meeting)
        pos = page.page.evaluate("id => window.kgView.domPosition(id)", meeting)
        page.page.mouse.click(pos["x"], pos["y"])
        page.page.wait_for_function(
            "id => document.querySelector('#kg-details').dataset.nodeId === id", arg=meeting, timeout=5_000
        )
        text = page.details()
        assert evidence_of(graph, meeting)[0] in text
        assert "https://d1021.hatenadiary.com" in text
    finally:
        page.page.close()


@pytest.mark.slow
def test_view_of_a_multi_article_build_shows_each_node_once(corpus_build: Path, tmp_path: Path) -> None:
    """The view reads the build's store; its nodes are those of graph.ttl, with the evidence of every
    document that reports them."""
    reference = Graph().parse(corpus_build / "graph.ttl")
    data = write_view(load_graph(corpus_build), str(tmp_path / "g.html"), source=str(corpus_build))
    ids = [n["id"] for n in data["nodes"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected_nodes(reference)
    by_id = {n["id"]: n for n in data["nodes"]}
    for node in ids:
        if (URIRef(node), RDF.type, DIP.Meeting) in reference:
            assert {e["text"] for e in by_id[node]["evidence"]} == set(evidence_of(reference, node))
