"""Gazetteer name matching: the trie pattern of kg.build.recognize vs a plain alternation, side by side.

Both patterns are built from the same gazetteer surfaces and run over the same texts in one run,
so a noisy machine shifts both alike; the figure is the ratio. The texts are the seed and the
corpus articles repeated to about 60,000 characters, and three 100,000-character lines of the
kind tests/test_properties.py feeds the build (ASCII, punctuation, katakana).

    .venv/bin/python bench/bench_names.py
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from kg.build.gazetteer import load
from kg.build.recognize import longest_alternation

ROOT = Path(__file__).resolve().parent.parent


def _time(rx: re.Pattern[str], text: str, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _m in rx.finditer(text):
            pass
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    names = [n for n in load().surfaces if len(n) >= 2]
    t = time.perf_counter()
    plain = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)), re.IGNORECASE)
    t_plain = time.perf_counter() - t
    t = time.perf_counter()
    trie = re.compile(longest_alternation(names), re.IGNORECASE)
    t_trie = time.perf_counter() - t
    articles = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    articles += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests" / "data" / "corpus").glob("*.txt"))]
    corpus = "".join(articles)
    texts = {
        "articles": corpus * max(1, 60_000 // max(1, len(corpus))),
        "ascii line": "a" * 100_000,
        "punctuation line": "。" * 100_000,
        "katakana line": "アイウエオカキクケコ" * 10_000,
    }
    print(f"{len(names)} names; compile: plain {t_plain * 1000:.0f} ms, trie {t_trie * 1000:.0f} ms")
    print(f"{'text':<18} {'chars':>8} {'plain s':>9} {'trie s':>9} {'ratio':>7}")
    for label, text in texts.items():
        a, b = _time(plain, text), _time(trie, text)
        print(f"{label:<18} {len(text):>8} {a:>9.3f} {b:>9.3f} {a / b:>6.1f}x")


if __name__ == "__main__":
    main()
