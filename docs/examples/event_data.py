"""The worked example of docs/EVENT-DATA.md: a kg build as event data, in a few lines of pandas.

    python docs/examples/event_data.py OUTDIR DEST

exports OUTDIR's events with ``kg export --format cameo`` and ``--format plover`` into DEST, reads
them with pandas, counts held events per unordered pair of states per month (dyad-months), writes
the counts to DEST/dyad_months.csv, plots the monthly timeline of the busiest dyads to
DEST/timeline.png, and prints what the same counts would be on rows written one per report, the
way GDELT and ICEWS write them, before and after the usual de-duplication. Needs pandas and
matplotlib (``pip install -e ".[test]"`` has both).
"""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pandas as pd

from kg.readers.eventdata import CAMEO_DTYPES

NON_STATES = {"IGO", "UNO", "EUR", "NGO"}


def export(outdir: Path, dest: Path) -> tuple[Path, Path]:
    tsv, jsonl = dest / "events.tsv", dest / "events.jsonl"
    for fmt, target in (("cameo", tsv), ("plover", jsonl)):
        subprocess.run([sys.executable, "-m", "kg.cli", "export", str(outdir), "--format", fmt, "-o", str(target)],
                       check=True)
    return tsv, jsonl


def dyad_months(events: pd.DataFrame) -> pd.DataFrame:
    """Held events per unordered pair of states per month: one row per event already, no de-duplication."""
    held = events[(events["Status"] == "held") & (events["Date From"] == "event")
                  & (events["Event Date"].str.len() >= 7)]
    rows = []
    for _, e in held.iterrows():
        codes = ";".join(c for c in (e["Source Code"], e["Target Code"]) if isinstance(c, str)).split(";")
        states = sorted({c for c in codes if c and c not in NON_STATES})
        rows += [(e["Event Date"][:7], a, b, e["Event ID"]) for a, b in combinations(states, 2)]
    pairs = pd.DataFrame(rows, columns=["month", "isoA", "isoB", "event"])
    return pairs.groupby(["month", "isoA", "isoB"])["event"].nunique().rename("events").reset_index()


def per_report_rows(jsonl: Path) -> pd.DataFrame:
    """The same events written the way GDELT and ICEWS write them: one row per report (article), each
    with the date and place that report gave, nothing tying the rows of one event together."""
    rows = []
    for line in jsonl.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["status"] != "held" or r["date_from"] != "event":
            continue
        states = sorted({p["code"] for p in r["actor"] + r["recipient"] if p["code"] and p["code"] not in NON_STATES})
        for rep in r["reports"]:
            for a, b in combinations(states, 2):
                rows.append({"date": r["date"], "isoA": a, "isoB": b, "cameo": r["cameo_code"],
                             "url": " ".join(rep["urls"]), "event": r["id"]})
    return pd.DataFrame(rows, columns=["date", "isoA", "isoB", "cameo", "url", "event"])


def plot(dyads: pd.DataFrame, target: Path, top: int = 5) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dyads = dyads.assign(dyad=dyads["isoA"] + "-" + dyads["isoB"], month=pd.PeriodIndex(dyads["month"], freq="M"))
    busiest = dyads.groupby("dyad")["events"].sum().sort_values(ascending=False).head(top).index
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
    for dyad in busiest:
        d = dyads[dyads["dyad"] == dyad]
        ax.scatter(d["month"].dt.to_timestamp(), [dyad] * len(d), s=40 * d["events"], alpha=0.7)
    ax.set_title(f"Held meetings and visits per month, the {len(busiest)} busiest pairs of states "
                 "(marker size: events)")
    ax.set_xlabel("month of the event")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(target, metadata={"Software": None})
    plt.close(fig)


def main(outdir: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    tsv, jsonl = export(outdir, dest)

    events = pd.read_csv(tsv, sep="\t", dtype=CAMEO_DTYPES, keep_default_na=False, na_values=[""])
    dyads = dyad_months(events)
    dyads.to_csv(dest / "dyad_months.csv", index=False)
    plot(dyads, dest / "timeline.png")

    gdelt_like = per_report_rows(jsonl)
    naive = gdelt_like.groupby(["isoA", "isoB"]).size().sum()
    deduped = len(gdelt_like.drop_duplicates(["date", "isoA", "isoB", "cameo"]))
    print(f"events: {len(events)}, held with a month: {dyads['events'].sum()} dyad-months over "
          f"{len(dyads)} (month, pair) cells")
    print(f"rows one per report (GDELT/ICEWS style): {len(gdelt_like)}; counted as they are: {naive}; "
          f"after drop_duplicates on date, pair and code: {deduped}; kg's records: "
          f"{gdelt_like['event'].nunique()}")
    print(dyads.sort_values("events", ascending=False).head(10).to_string(index=False))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
