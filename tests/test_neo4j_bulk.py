"""kg.readers.neo4j_bulk without a server: the CSV files and options written for neo4j-admin.

The import itself, and that it equals ``kg load``, is tested against the real server in
tests/test_neo4j.py.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from rdflib import Literal
from rdflib.namespace import RDFS, SKOS

from kg.errors import WriteError
from kg.namespaces import ID
from kg.readers.neo4j import read_graph
from kg.readers.neo4j_bulk import ARRAY_DELIMITERS, admin_type, write_import_csv
from kg.readers.projection import project

SAMPLE = Path(__file__).resolve().parent / "data" / "sample.ttl"
POMPEO = ID["person/Q473239"]


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _pompeo(folder: Path) -> dict[str, str]:
    return next(r for p in sorted(folder.glob("nodes-Official-Person-*.csv")) for r in _read(p)
                if r["iri:ID(kg)"] == str(POMPEO))


def test_files_options_and_values(tmp_path: Path) -> None:
    proj = project(read_graph(SAMPLE))
    files = write_import_csv(proj, tmp_path / "csv")
    args = (tmp_path / "csv" / "import.args").read_text(encoding="utf-8").splitlines()
    assert args == files.args
    assert "--nodes=Official:Person=nodes-Official-Person-1.csv" in args
    assert "--multiline-fields=false" in args and "--array-delimiter=U+001F" in args
    listed = sorted(a.split("=")[-1] for a in args if a.startswith(("--nodes=", "--relationships=")))
    assert listed == sorted(p.name for p in (tmp_path / "csv").glob("*.csv"))
    pompeo = _pompeo(tmp_path / "csv")
    assert pompeo["name:string"] == "ポンペオ" and pompeo["wikidata:string"] == "Q473239"
    assert set(pompeo["names:string[]"].split("\u001f")) == {"ポンペオ", "Mike Pompeo", "ポンペイオ", "ポンペイ"}
    # every node and relationship is in exactly one file
    nodes = sum(len(_read(p)) for p in (tmp_path / "csv").glob("nodes-*.csv"))
    rels = sum(len(_read(p)) for p in (tmp_path / "csv").glob("relationships-*.csv"))
    assert (nodes, rels) == (len(proj.nodes), len(proj.rels)) == (files.nodes, files.relationships)
    constraints = (tmp_path / "csv" / "constraints.cypher").read_text(encoding="utf-8").splitlines()
    assert "CREATE CONSTRAINT `kg_Person_iri` IF NOT EXISTS FOR (n:`Person`) REQUIRE n.iri IS UNIQUE;" in constraints


def test_quotes_line_breaks_and_a_taken_delimiter(tmp_path: Path) -> None:
    """Awkward strings survive CSV quoting; a line break turns on --multiline-fields; an array value
    holding U+001F moves the array delimiter to the next free one."""
    g = read_graph(SAMPLE)
    tricky = 'O\'Brien "the" \\ back,slash\n改行\r\n'
    g.remove((POMPEO, RDFS.label, None))
    g.add((POMPEO, RDFS.label, Literal(tricky, lang="ja")))
    g.add((POMPEO, SKOS.altLabel, Literal("a\u001fb", lang="ja")))
    files = write_import_csv(project(g), tmp_path / "csv")
    assert "--multiline-fields=true" in files.args
    assert f"--array-delimiter=U+{ord(ARRAY_DELIMITERS[1]):04X}" in files.args
    pompeo = _pompeo(tmp_path / "csv")
    assert pompeo["name:string"] == tricky
    assert "a\u001fb" in pompeo["names:string[]"].split(ARRAY_DELIMITERS[1])


def test_types() -> None:
    import datetime as dt

    assert [admin_type(v) for v in ("x", 1, 0.5, True, dt.date(2018, 5, 30), ["a"], [1, 2], [])] == \
        ["string", "long", "double", "boolean", "date", "string[]", "long[]", "string[]"]


def test_a_folder_kg_did_not_write_is_not_replaced(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(WriteError, match="is not a folder written by kg load --bulk"):
        write_import_csv(project(read_graph(SAMPLE)), mine)
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep"
    # a folder it wrote is replaced whole
    write_import_csv(project(read_graph(SAMPLE)), tmp_path / "csv")
    (tmp_path / "csv" / "stale.csv").write_text("x", encoding="utf-8")
    write_import_csv(project(read_graph(SAMPLE)), tmp_path / "csv")
    assert not (tmp_path / "csv" / "stale.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
