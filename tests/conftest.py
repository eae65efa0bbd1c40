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


from neo4j_fixtures import *  # noqa: E402, F403  (the Neo4j server fixture)
