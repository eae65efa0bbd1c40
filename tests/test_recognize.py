"""The gazetteer name pattern: a trie of the names finds what a plain longest-first alternation finds."""

from __future__ import annotations

import re
from pathlib import Path

from kg.build.gazetteer import load
from kg.build.recognize import longest_alternation

ROOT = Path(__file__).resolve().parent.parent


def _plain(words: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)


def test_the_longest_name_at_a_position_is_taken() -> None:
    rx = re.compile(longest_alternation(["ロシア", "ロシア連邦", "ロンドン", "AP", "AP通信", "APEC"]), re.IGNORECASE)
    text = "ロシア連邦とロシア、ロンドンのAP通信とapecとAPと ロシ"
    assert [m.group(0) for m in rx.finditer(text)] == ["ロシア連邦", "ロシア", "ロンドン", "AP通信", "apec", "AP"]


def test_same_matches_as_a_plain_alternation_over_the_gazetteer() -> None:
    names = [n for n in load().surfaces if len(n) >= 2]
    trie = re.compile(longest_alternation(names), re.IGNORECASE)
    plain = _plain(names)
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests" / "data" / "corpus").glob("*.txt"))]
    texts.append("Reuters と ＡＰ通信、UAEのムハンマド・ビン・ザイド大統領、キーウ、ジョン・ケリー氏、Kim Jong-un")
    for text in texts:
        assert [m.span() for m in trie.finditer(text)] == [m.span() for m in plain.finditer(text)]
