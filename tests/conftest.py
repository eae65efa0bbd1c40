"""Shared fixtures. Stage-specific fixtures live in their own modules, imported here."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def sample_ttl() -> Path:
    """A small hand-written graph that follows docs/MODEL.md and conforms to the shapes."""
    return DATA / "sample.ttl"


@pytest.fixture(scope="session")
def seed_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUTDIR of a real build of seeds/ (real ja_ginza, real pyshacl), made once per test session."""
    from kg.build.pipeline import build

    out = tmp_path_factory.mktemp("seed-build") / "out"
    result = build([ROOT / "seeds"], out)
    assert result.conforms, result.summary_text
    return out


@pytest.fixture(scope="session")
def corpus_inputs() -> list[Path]:
    """A multi-article corpus: the seed and two short articles written for the tests
    (``tests/data/corpus``), in which officials, states and events recur across articles."""
    return [ROOT / "seeds", DATA / "corpus"]


@pytest.fixture(scope="session")
def corpus_build(tmp_path_factory: pytest.TempPathFactory, corpus_inputs: list[Path]) -> Path:
    """OUTDIR of a real build of the multi-article corpus, made once per test session. Surfaces
    (query, serve, stats, export, view, load) are tested on it, not only on the seed."""
    from kg.build.pipeline import build

    out = tmp_path_factory.mktemp("corpus-build") / "out"
    result = build(corpus_inputs, out)
    assert result.conforms, result.summary_text
    assert result.documents == 3
    return out


#: How many copies of the corpus ``corpus_copies_build`` holds.
COPIES = 20


def copy_statements(text: str, copies: int) -> str:
    """``copies`` copies of a statements.jsonl, copy k under document ids suffixed ``-cKK``."""
    import json

    def rename(o: object, k: int) -> object:
        if isinstance(o, dict):
            return {key: f"{v}-c{k:02d}" if key == "doc_id" and isinstance(v, str) else rename(v, k)
                    for key, v in o.items()}
        if isinstance(o, list):
            return [rename(v, k) for v in o]
        return o

    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    return "".join(json.dumps(rename(d, k), ensure_ascii=False) + "\n" for k in range(copies) for d in lines)


@pytest.fixture(scope="session")
def corpus_copies_build(tmp_path_factory: pytest.TempPathFactory, corpus_build: Path) -> Path:
    """OUTDIR of a build of COPIES copies of the multi-article corpus (60 documents), each copy under
    its own document ids: the statements of ``corpus_build`` mapped again by ``kg build --statements``
    (no parsing). Entities, and events with dates, merge across the copies as they do across
    articles; undated events and quotes stay one per document. Not SHACL-validated (the copies
    conform as ``corpus_build`` does; validation would only make the fixture slower)."""
    from kg.build.pipeline import build

    tmp = tmp_path_factory.mktemp("corpus-copies")
    statements = tmp / "statements.jsonl"
    statements.write_text(copy_statements((corpus_build / "statements.jsonl").read_text(encoding="utf-8"), COPIES),
                          encoding="utf-8")
    out = tmp / "out"
    result = build([], out, statements_file=statements, validate=False, jobs=1)
    assert result.documents == 3 * COPIES
    return out


from neo4j_fixtures import *  # noqa: E402, F403  (the Neo4j server fixture)
