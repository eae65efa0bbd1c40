"""Extraction throughput: parsing and rule time per character, on a folder of articles.

    python bench/bench_extract.py seeds tests/data/corpus [--repeat 3]

Loads the model once, then parses and extracts every ``.txt`` article ``--repeat`` times and prints
characters per second for parsing (GiNZA) and for everything after it (recognition, resolution and
the statement rules), best of the repeats. Run it from two checkouts on the same folder, one after
the other, to compare two versions of the extractor side by side.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _articles(folders: list[Path]) -> list[tuple[str, str | None]]:
    out = []
    for folder in folders:
        for f in sorted(folder.glob("*.txt")):
            text = f.read_text(encoding="utf-8")
            if text.startswith("http"):
                text = text.split("\n", 1)[1] if "\n" in text else ""
            meta = f.with_name(f.stem + ".meta.json")
            published = json.loads(meta.read_text(encoding="utf-8")).get("published") if meta.exists() else None
            out.append((text, published))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from kg.build.extract import extract_document
    from kg.build.nlp import load_model, parse
    from kg.records import Article

    arts = _articles(args.folders)
    chars = sum(len(t) for t, _ in arts)
    load_model()
    extract_document(Article("warm", arts[0][0], published=arts[0][1]), parse(arts[0][0]))  # data, patterns
    best_parse = best_rules = float("inf")
    for _ in range(args.repeat):
        docs, t0 = [], time.perf_counter()
        for text, _ in arts:
            docs.append(parse(text))
        t1 = time.perf_counter()
        for i, ((text, published), doc) in enumerate(zip(arts, docs, strict=True)):
            extract_document(Article(f"a{i}", text, published=published), doc)
        t2 = time.perf_counter()
        best_parse, best_rules = min(best_parse, t1 - t0), min(best_rules, t2 - t1)
    print(json.dumps({"articles": len(arts), "chars": chars, "parse_chars_per_s": round(chars / best_parse),
                      "rules_chars_per_s": round(chars / best_rules),
                      "total_chars_per_s": round(chars / (best_parse + best_rules))}))


if __name__ == "__main__":
    main()
