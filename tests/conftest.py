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


from neo4j_fixtures import *  # noqa: E402, F403  (the Neo4j server fixture)
