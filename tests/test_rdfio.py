"""Reading RDF files (kg.rdfio.parse_rdf_quads / parse_rdf_file): nothing is fetched and entity
expansion is bounded, through every command that accepts an RDF file — kg validate, query, stats,
export, view — and the reader of kg load."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.errors import ReadError
from kg.rdfio import MAX_ENTITY_CHARS, MAX_EXPANSION_CHARS, RdfRefusedError, parse_rdf_file
from kg.readers.neo4j import read_graph

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


class Listener:
    """A loopback HTTP server that records every request and serves a valid JSON-LD context."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = json.dumps({"@context": {"p": "urn:p"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/context.jsonld"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


def _jsonld(context: object) -> str:
    return json.dumps({"@context": context, "@id": "urn:a", "p": "x", "urn:q": "y"})


def _rdfxml(doctype: str, value: str) -> str:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n{doctype}\n]>\n<rdf:RDF xmlns:rdf="{RDF_NS}">'
            f'<rdf:Description rdf:about="urn:a"><rdf:value>{value}</rdf:value></rdf:Description></rdf:RDF>\n')


def billion_laughs() -> str:
    """Ten entities each ten times the one before: 10^9 characters from under 1 KB."""
    ents = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return _rdfxml("\n".join(ents), "&lol9;")


def hostile_files(tmp: Path, listener: Listener) -> dict[str, tuple[Path, str]]:
    """name -> (file, the start of the expected error)."""
    secret = tmp / "context.jsonld"
    secret.write_text(json.dumps({"@context": {"p": "urn:p"}}), encoding="utf-8")
    cases = {
        "http context": ("g.jsonld", _jsonld(listener.url), f"the JSON-LD context <{listener.url}> is not loaded"),
        "file: context": ("g.jsonld", _jsonld(secret.as_uri()), f"the JSON-LD context <{secret.as_uri()}> is not loaded"),
        "/dev/zero context": ("g.jsonld", _jsonld("file:///dev/zero"), "the JSON-LD context <file:///dev/zero> is not loaded"),
        "relative context": ("g.jsonld", _jsonld("context.jsonld"), "the JSON-LD context <context.jsonld> is not loaded"),
        "@import": ("g.jsonld", _jsonld({"@import": listener.url, "p": "urn:p"}),
                    f"the JSON-LD context <{listener.url}> is not loaded"),
        "billion laughs": ("g.rdf", billion_laughs(), "the XML entity &lol"),
        "external entity": ("g.rdf", _rdfxml('<!ENTITY x SYSTEM "file:///etc/hostname">', "&x;"),
                            "the XML entity &x; (file:///etc/hostname) is not loaded"),
        "parameter entity": ("g.rdf", _rdfxml(f'<!ENTITY % p SYSTEM "{listener.url}"> %p;', "v"),
                             "the XML entity %p;"),
        "many references": ("g.rdf", _rdfxml(f'<!ENTITY big "{"x" * (MAX_ENTITY_CHARS - 10)}">', "&big;" * 300),
                            f"entity references expand to more than {MAX_EXPANSION_CHARS} characters beyond"),
    }
    out = {}
    for name, (fname, text, message) in cases.items():
        d = tmp / name.replace(" ", "-").replace("/", "").replace(":", "").replace("@", "")
        d.mkdir()
        f = d / fname
        f.write_text(text, encoding="utf-8")
        out[name] = (f, message)
    return out


CASES = ["http context", "file: context", "/dev/zero context", "relative context", "@import", "billion laughs",
         "external entity", "parameter entity", "many references"]


@pytest.mark.parametrize("case", CASES)
def test_parse_rdf_file_refuses_what_it_would_have_to_fetch_or_expand(tmp_path: Path, listener: Listener,
                                                                       case: str) -> None:
    f, message = hostile_files(tmp_path, listener)[case]
    start = time.monotonic()
    with pytest.raises(RdfRefusedError) as info:
        parse_rdf_file(f, "json-ld" if f.suffix == ".jsonld" else "xml")
    assert str(info.value).startswith(message)
    assert time.monotonic() - start < 5
    assert listener.hits == []


COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "validate": lambda f, tmp: ["validate", str(f)],
    "query": lambda f, tmp: ["query", str(f), "ASK { ?s ?p ?o }"],
    "stats": lambda f, tmp: ["stats", str(f)],
    "export": lambda f, tmp: ["export", str(f), "--format", "gexf", "-o", str(tmp / "out.gexf")],
    "view": lambda f, tmp: ["view", str(f), "-o", str(tmp / "out.html")],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_reading_rdf_files_refuses_them_in_one_line(tmp_path: Path, listener: Listener,
                                                                  command: str) -> None:
    files = hostile_files(tmp_path, listener)
    for case in CASES:
        f, message = files[case]
        start = time.monotonic()
        result = CliRunner().invoke(main, COMMANDS[command](f, tmp_path))
        assert result.exit_code == 2, (case, result.output)
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1, (case, result.output)
        assert message in result.output, (case, result.output)
        assert time.monotonic() - start < 30, case
    assert listener.hits == []
    assert not (tmp_path / "out.gexf").exists() and not (tmp_path / "out.html").exists()


def test_the_reader_of_kg_load_refuses_them_too(tmp_path: Path, listener: Listener) -> None:
    for case, (f, message) in hostile_files(tmp_path, listener).items():
        with pytest.raises(ReadError, match=f"^{f}: ") as info:
            read_graph(f)
        assert message in str(info.value), case
    assert listener.hits == []


def test_files_with_their_own_context_and_small_entities_are_read(tmp_path: Path) -> None:
    doc = tmp_path / "g.jsonld"
    doc.write_text(_jsonld({"p": "urn:p"}), encoding="utf-8")
    assert {(str(s), str(p), str(o)) for s, p, o in parse_rdf_file(doc, "json-ld")} == {
        ("urn:a", "urn:p", "x"), ("urn:a", "urn:q", "y")}
    owl = tmp_path / "g.rdf"
    owl.write_text(_rdfxml('<!ENTITY ex "http://example.org/">\n<!ENTITY v "&ex;value">', "&v;"), encoding="utf-8")
    assert {str(o) for o in parse_rdf_file(owl, "xml").objects()} == {"http://example.org/value"}
