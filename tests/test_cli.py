"""The kg command line: help and docs for every command, exit codes and error text for bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rdflib import Graph
from rdflib.namespace import RDF, SH

from kg.cli import main
from kg.namespaces import DIP

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SAMPLE = DATA / "sample.ttl"
INVALID = sorted(DATA.glob("invalid_*.ttl"))
COMMANDS = sorted(main.commands)
LAVROV = "ロシアのラブロフ外相は31日午前、北朝鮮の首都ピョンヤンに到着し、リ・ヨンホ外相と会談しました。\n"


def kg(*args: str) -> Result:
    res = CliRunner().invoke(main, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


def listed_commands(help_text: str) -> list[str]:
    """The command names of the ``Commands:`` section of ``kg --help``."""
    section = help_text.split("Commands:", 1)[1]
    return [m.group(1) for m in re.finditer(r"^  (\S+)", section, flags=re.MULTILINE)]


# ---- help and docs -------------------------------------------------------------------------


def test_main_help() -> None:
    res = kg("--help")
    assert res.exit_code == 0
    assert "Example" in res.output
    assert "kg build seeds -o out" in res.output
    assert sorted(listed_commands(res.output)) == COMMANDS
    assert {"build", "validate"} <= set(COMMANDS)


def test_short_help_option() -> None:
    assert kg("-h").output == kg("--help").output


def test_version() -> None:
    from kg import __version__

    res = kg("--version")
    assert res.exit_code == 0
    assert res.output == f"kg, version {__version__}\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    res = kg(command, "--help")
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"Usage: main {command}") or res.output.startswith(f"Usage: kg {command}")
    assert "Example" in res.output
    assert f"kg {command}" in res.output.split("Example", 1)[1]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented_in_the_readme(command: str) -> None:
    readme = ROOT / "README.md"
    assert readme.is_file(), "README.md is missing: it should document every kg command"
    text = readme.read_text(encoding="utf-8")
    assert re.search(rf"\bkg {re.escape(command)}\b", text), f"README.md does not mention `kg {command}`"


# ---- build: bad input ---------------------------------------------------------------------------


def test_build_without_inputs_is_a_usage_error(tmp_path: Path) -> None:
    res = kg("build", "-o", str(tmp_path / "out"))
    assert res.exit_code == 2
    assert "Usage: " in res.stderr
    assert "Error: give at least one INPUT (file or folder), or --statements FILE" in res.stderr
    assert not (tmp_path / "out").exists()


def test_build_without_outdir_is_a_usage_error(tmp_path: Path) -> None:
    res = kg("build", str(ROOT / "seeds"))
    assert res.exit_code == 2
    assert "Missing option '-o' / '--out'" in res.stderr


def test_build_of_a_nonexistent_input(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-article.txt"
    res = kg("build", str(missing), "-o", str(tmp_path / "out"))
    assert res.exit_code == 2
    assert res.stderr == f"Error: {missing}: no such file or directory\n"
    assert res.stdout == ""
    assert not (tmp_path / "out").exists()


def test_build_with_a_missing_statements_file(tmp_path: Path) -> None:
    missing = tmp_path / "statements.jsonl"
    res = kg("build", "--statements", str(missing), "-o", str(tmp_path / "out"))
    assert res.exit_code == 2
    assert "Error: Invalid value for '--statements'" in res.stderr
    assert str(missing) in res.stderr


def test_strict_build_stops_at_the_first_unreadable_input(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_bytes(b"")
    (src / "b.txt").write_text(LAVROV, encoding="utf-8")
    res = kg("build", "--strict", str(src), "-o", str(tmp_path / "out"))
    assert res.exit_code == 2
    assert res.stderr == f"Error: {src / 'a.txt'}: the file is empty\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_empty_article_is_skipped_listed_and_exit_2(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "lavrov.txt").write_text(LAVROV, encoding="utf-8")
    (src / "lavrov.meta.json").write_text('{"published": "2018-06-01"}', encoding="utf-8")
    empty = src / "empty.txt"
    empty.write_bytes(b"")
    out = tmp_path / "out"
    res = kg("build", str(src), "-o", str(out))
    assert res.exit_code == 2, res.output
    assert "built " in res.stdout and "1 document(s)" in res.stdout
    # the skip list is a diagnostic: stderr, so that stdout holds only what was built
    assert "skipped 1 input(s) (see skipped.json):" in res.stderr
    assert str(empty) in res.stderr and str(empty) not in res.stdout
    skipped = json.loads((out / "skipped.json").read_text(encoding="utf-8"))
    assert len(skipped) == 1
    assert skipped[0]["source"] == str(empty)
    assert "the file is empty" in skipped[0]["reason"]
    # the other article is built
    graph = (out / "graph.ttl").read_text(encoding="utf-8")
    docs = {str(d) for d in Graph().parse(out / "graph.ttl").subjects(RDF.type, DIP.Document)}
    assert docs == {"https://w3id.org/dipkg/id/doc/lavrov"} and "ラブロフ" in graph
    assert kg("validate", str(out)).exit_code == 0


def test_quiet_build_prints_nothing(tmp_path: Path) -> None:
    stmts = tmp_path / "s.jsonl"
    stmts.write_text(json.dumps({"kind": "document", "doc_id": "d1"}) + "\n", encoding="utf-8")
    res = kg("build", "-q", "--statements", str(stmts), "-o", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    assert res.output == ""
    assert (tmp_path / "out" / "graph.ttl").is_file()


def test_bad_base_iri_is_exit_2(tmp_path: Path) -> None:
    stmts = tmp_path / "s.jsonl"
    stmts.write_text(json.dumps({"kind": "document", "doc_id": "d1"}) + "\n", encoding="utf-8")
    res = kg("build", "--statements", str(stmts), "-o", str(tmp_path / "out"), "--base", "kg:")
    assert res.exit_code == 2
    assert res.stderr.startswith("Error: the IRI base must be an http(s) IRI ending in / or #, got 'kg:'")


# ---- validate -----------------------------------------------------------------------------------


def test_validate_sample_conforms() -> None:
    res = kg("validate", str(SAMPLE))
    assert res.exit_code == 0, res.output
    assert res.stdout == f"{SAMPLE}: conforms\n"


def test_there_are_invalid_samples() -> None:
    assert len(INVALID) >= 5


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_validate_invalid_samples_exit_1(path: Path) -> None:
    res = kg("validate", str(path))
    assert res.exit_code == 1, res.output
    assert res.stdout.startswith("Conforms: no (")
    assert "[Violation] " in res.stdout


def test_validate_writes_the_report(tmp_path: Path) -> None:
    report = tmp_path / "report.ttl"
    res = kg("validate", str(INVALID[0]), "--report", str(report))
    assert res.exit_code == 1
    g = Graph().parse(report)
    assert (None, SH.conforms, None) in g
    assert list(g.subjects(SH.focusNode, None))


def test_validate_missing_file_is_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "graph.ttl"
    res = kg("validate", str(missing))
    assert res.exit_code == 2
    assert res.stderr == f"Error: {missing}: file not found\n"


def test_validate_outdir_without_graph_is_exit_2(tmp_path: Path) -> None:
    res = kg("validate", str(tmp_path))
    assert res.exit_code == 2
    assert res.stderr == f"Error: {tmp_path / 'graph.ttl'}: file not found\n"


def test_validate_garbage_file_is_exit_2(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.ttl"
    garbage.write_text("this is not turtle <<<\n", encoding="utf-8")
    res = kg("validate", str(garbage))
    assert res.exit_code == 2
    assert res.stderr.startswith(f"Error: {garbage}: cannot parse as turtle")


def test_validate_binary_file_is_exit_2(tmp_path: Path) -> None:
    binary = tmp_path / "graph.jsonld"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    res = kg("validate", str(binary))
    assert res.exit_code == 2
    assert res.stderr.startswith(f"Error: {binary}: cannot parse as json-ld")


def test_validate_unknown_extension_is_exit_2(tmp_path: Path) -> None:
    odd = tmp_path / "graph.csv"
    odd.write_text("a,b\n", encoding="utf-8")
    res = kg("validate", str(odd))
    assert res.exit_code == 2
    assert res.stderr.startswith(f"Error: {odd}: unknown RDF file extension '.csv'")


def test_unknown_command_is_a_usage_error() -> None:
    res = kg("frobnicate")
    assert res.exit_code == 2
    assert "No such command 'frobnicate'" in res.stderr
