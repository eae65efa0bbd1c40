"""GiNZA (spaCy ja_ginza): loaded once per process, documents parsed in batches with nlp.pipe.

GiNZA's NER labels are Extended Named Entity (ENE) types (Person, Country, City, Government,
Position_Vocation, International_Organization, ...). They are kept as they are: the OntoNotes
mapping would throw away the distinctions recognition needs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from kg.errors import NlpError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

MODEL = "ja_ginza"
_lock = threading.Lock()
_nlp: Language | None = None


def load_model(name: str = MODEL) -> Language:
    """The spaCy pipeline, loaded on first use and then shared."""
    global _nlp
    with _lock:
        if _nlp is None:
            try:
                import spacy

                _nlp = spacy.load(name)
            except OSError as exc:
                raise NlpError(
                    f"the Japanese model {name!r} is not installed: run `pip install ja-ginza ginza` "
                    f"(or `make install`) and try again ({exc})"
                ) from exc
        return _nlp


def parse(text: str) -> Doc:
    """Parse one text."""
    return load_model()(text)


def parse_many(texts: Iterable[str], batch_size: int = 8) -> Iterator[Doc]:
    """Parse texts in batches; yields Docs in input order."""
    yield from load_model().pipe(texts, batch_size=batch_size)
