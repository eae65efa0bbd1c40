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
