#!/usr/bin/env python
"""Render the JSON files of ``scripts/django_suite.py --json`` as Markdown for docs/conformance.md.

    python scripts/conformance_report.py conformance-results/*.json > results.md

One summary row per run (Django, Python, SQLAlchemy, vendor/driver,
``--parallel``), then, per Django version and vendor/driver, the per-app
counts of the stock and pooled runs side by side.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = ("tests", "passed", "failed", "errors", "skipped")


def version_key(run: dict) -> tuple:
    """Order runs by Django version, Python, vendor, driver, --parallel."""
    return (
        tuple(int(p) for p in run["django"].split(".")[:3] if p.isdigit()),
        run["python"],
        run["vendor"],
        run["driver"],
        run["parallel"],
    )


def verdict(run: dict) -> str:
    """Say what the pooled run did that the stock one did not."""
    if run["new"] or run.get("missing"):
        return f"**{len(run['new'])} new, {len(run.get('missing', []))} not run**"
    same = run["failing"]["stock"] == run["failing"]["pooled"]
    return "none; identical failures" if same else "none (pooled fails fewer)"


def summary_table(runs: list[dict]) -> list[str]:
    """One row per run."""
    lines = [
        "| Django | Python | SQLAlchemy | vendor / driver | `--parallel` | stock | django-pool "
        "| new failures or errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        lines.append(
            f"| {run['django']} | {run['python']} | {run['sqlalchemy']} "
            f"| {run['vendor']} / {run['driver']} | {run['parallel']} "
            f"| {outcome(run['summary']['stock'])} | {outcome(run['summary']['pooled'])} "
            f"| {verdict(run)} |"
        )
    return lines


def per_app_table(run: dict) -> list[str]:
    """Stock and pooled counts per app, side by side."""
    short = ("tests", "pass", "fail", "err", "skip")
    lines = [
        "| app | "
        + " | ".join(f"stock {c}" if i == 0 else c for i, c in enumerate(short))
        + " | "
        + " | ".join(f"pooled {c}" if i == 0 else c for i, c in enumerate(short))
        + " |",
        "| --- " + "| ---: " * 10 + "|",
    ]
    stock, pooled = run["per_app"]["stock"], run["per_app"]["pooled"]
    for app in sorted(set(stock) | set(pooled)):
        cells = [str(counts.get(app, {}).get(c, 0)) for counts in (stock, pooled) for c in COLUMNS]
        lines.append(f"| {app} | " + " | ".join(cells) + " |")
    return lines


def outcome(summary: str) -> str:
    """'Ran 2526 tests in 24.9s, OK (skipped=146)' -> '2526 tests, OK (skipped=146)'."""
    ran, _, rest = summary.partition(", ")
    words = ran.split()
    return f"{words[1]} tests, {rest}" if len(words) > 1 and words[0] == "Ran" else summary


def main(paths: list[str]) -> int:
    """Print the report; return 1 if any run has a difference."""
    runs = sorted((json.loads(Path(p).read_text()) for p in paths), key=version_key)
    if not runs:
        raise SystemExit("no result files given")
    out = ["### Every run", "", *summary_table(runs), ""]
    shown = set()
    for run in runs:
        # Per-app counts once per Django version and vendor/driver, from its
        # first run: --parallel and Python change how many tests run, not the
        # comparison, which the table above gives for every run.
        key = (run["django"], run["vendor"], run["driver"])
        if key in shown:
            continue
        shown.add(key)
        out += [
            f"### Django {run['django']}, Python {run['python']}, "
            f"{run['vendor']} / {run['driver']}, `--parallel {run['parallel']}`",
            "",
            f"`{run['command']}`",
            "",
            *per_app_table(run),
        ]
        failing = run["failing"]["stock"]
        if failing:
            out += [
                "",
                f"Failing with both ENGINEs, identically ({len(failing)} tests):",
            ]
            out += ["", "<details><summary>list</summary>", ""]
            out += [f"- `{t}`" for t in failing]
            out += ["", "</details>"]
        out.append("")
    print("\n".join(out))
    return 1 if any(r["new"] or r.get("missing") for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
