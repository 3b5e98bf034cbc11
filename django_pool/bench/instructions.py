"""``bench --instructions``: CPU instructions per request, counted by valgrind's callgrind.

Timings on a shared machine move by tens of percent between runs; the count
of instructions the client executes moves by well under one. Each variant
runs in a process of its own under callgrind (``PYTHONHASHSEED`` fixed), and
for each workload runs N1 then N2 requests, each run in a callgrind dump of
its own (see :mod:`.instructions_child`). The figure per request is
``(I(N2) - I(N1)) / (N2 - N1)``: what a run costs besides its requests
(the loop, the dump itself) cancels out. Server-side work is not counted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .instructions_child import DUMPS_PER_WORKLOAD
from .targets import Variant, describe_url

__all__ = ["DEFAULT_VARIANTS", "DEFAULT_WORKLOADS", "run_instructions"]

#: What the comparison needs: no pooling, the floor, Django's pool (where there is one), ours.
DEFAULT_VARIANTS = ("no_pool", "persistent", "native", "django_pool")
#: W0 (connection handling alone) and W1 (one ORM query).
DEFAULT_WORKLOADS = ("connect", "query")
_LABELS = {"connect": "W0 connection only", "query": "W1 one query", "atomic": "atomic, 3 queries"}
_FLOOR = "persistent"


def _requests(text: str) -> tuple[int, int]:
    try:
        n1, n2 = (int(part) for part in text.split(","))
    except ValueError:
        raise SystemExit(f"--requests: expected N1,N2 (e.g. 100,300), not {text!r}") from None
    if not 0 < n1 < n2:
        raise SystemExit(f"--requests: need 0 < N1 < N2, got {n1},{n2}")
    return n1, n2


def _valgrind() -> tuple[str, str]:
    path = shutil.which("valgrind")
    if path is None:
        raise SystemExit(
            "--instructions needs valgrind: apt-get install valgrind (Debian/Ubuntu), "
            "dnf install valgrind (Fedora); scripts/system-deps.sh installs it for the tests"
        )
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
    return path, version


def run_instructions(
    args: argparse.Namespace,
    target: dict[str, Any],
    chosen: list[Variant],
    cleanup: contextlib.ExitStack,
) -> int:
    """Count instructions per request for each variant and workload; print them."""
    if any(v.gate for v in chosen) and args.variants:
        # One thread never waits in line: the count would be persistent's.
        raise SystemExit("--variants fair_gate: a yardstick for threads, not for --instructions")
    valgrind, valgrind_version = _valgrind()
    n1, n2 = _requests(args.requests)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    if args.workloads == "connect,query,atomic":  # the timing mode's default: W0 and W1 here
        names = list(DEFAULT_WORKLOADS)
    if not args.variants:
        chosen = [v for v in chosen if v.alias in DEFAULT_VARIANTS]
    table = _create_table(chosen, cleanup)
    directory = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="django_pool_cg_")))
    total = len(chosen)
    done = [0]

    def measure(variant: Variant) -> dict[str, float]:
        result = _measure(valgrind, variant, table, names, n1, n2, directory)
        done[0] += 1
        print(f"[{done[0]}/{total}] {variant.label}: counted", file=sys.stderr)
        return result

    print(
        f"counting instructions under callgrind: {total} variants × {len(names)} workloads, "
        f"{n1} and {n2} requests (about a minute per variant)...",
        file=sys.stderr,
    )
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        counted = dict(zip([v.alias for v in chosen], pool.map(measure, chosen), strict=True))
    data = {
        "mode": "instructions",
        "target": describe_url(target),
        "python": platform.python_version(),
        "valgrind": valgrind_version,
        "requests": [n1, n2],
        "pythonhashseed": 0,
        "variants": {v.alias: v.label for v in chosen},
        "workloads": {name: _LABELS[name] for name in names},
        "instructions_per_request": counted,
        "ratio_to_persistent": {
            alias: {
                name: (per[name] / counted[_FLOOR][name] if counted[_FLOOR][name] else None)
                for name in names
            }
            for alias, per in counted.items()
        },
    }
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print_table(data)
    return 0


def _create_table(chosen: list[Variant], cleanup: contextlib.ExitStack) -> str:
    """Create the bench table through Django in this process; drop it at the end."""
    from django.conf import settings

    floor = next(v for v in chosen if v.alias == _FLOOR)
    settings.configure(DATABASES={"default": floor.settings}, INSTALLED_APPS=[], USE_TZ=True)
    import django

    django.setup()
    from django.db import DatabaseError

    from . import workloads

    table = workloads.new_table_name()
    workloads.use_table(table)
    try:
        workloads.create_table("default")
    except DatabaseError as err:
        from ..errors import first_line

        raise SystemExit(f"bench: cannot create the bench table: {first_line(err)}") from None
    cleanup.callback(workloads.drop_table, "default")
    return table


def _measure(
    valgrind: str,
    variant: Variant,
    table: str,
    names: list[str],
    n1: int,
    n2: int,
    directory: Path,
) -> dict[str, float]:
    out = directory / f"{variant.alias}.out"
    spec = {"settings": variant.settings, "table": table, "workloads": names, "n1": n1, "n2": n2}
    env = {**os.environ, "PYTHONHASHSEED": "0", "DJANGO_POOL_BENCH_CHILD": json.dumps(spec)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [
        valgrind,
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        "--dump-before=getsid",
        "--dump-instr=no",
        "--compress-strings=no",
        "--compress-pos=no",
        sys.executable,
        "-m",
        "django_pool.bench.instructions_child",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if result.returncode != 0:
        own = [line for line in result.stderr.splitlines() if not line.startswith("==")]
        tail = "\n".join((own or result.stderr.strip().splitlines())[-8:])
        raise SystemExit(f"--instructions: {variant.label} failed under valgrind:\n{tail}")
    totals = _dump_totals(out)
    expected = DUMPS_PER_WORKLOAD * len(names)
    if len(totals) != expected:
        raise SystemExit(
            f"--instructions: {variant.label}: {len(totals)} callgrind dumps, expected "
            f"{expected} (did something else call getsid()?)"
        )
    per_request = {}
    for i, name in enumerate(names):
        first = totals[DUMPS_PER_WORKLOAD * i + 2]  # dumps are numbered from 1
        second = totals[DUMPS_PER_WORKLOAD * i + 4]
        per_request[name] = (second - first) / (n2 - n1)
    return per_request


def _dump_totals(out: Path) -> dict[int, int]:
    """Return {dump number: instructions} of callgrind's ``<out>.<n>`` files."""
    totals = {}
    for path in out.parent.glob(f"{out.name}.*"):
        number = path.name.rsplit(".", 1)[1]
        if not number.isdigit():
            continue
        match = re.search(r"^(?:summary|totals):\s*(\d+)", path.read_text(), re.MULTILINE)
        if match:
            totals[int(number)] = int(match.group(1))
    return totals


def print_table(data: dict[str, Any]) -> None:
    """Print the counts as a table: instructions per request and × the persistent floor."""
    n1, n2 = data["requests"]
    print(f"django-pool bench --instructions on {data['target']}")
    print(f"Python {data['python']}, {data['valgrind']}, PYTHONHASHSEED={data['pythonhashseed']}")
    print()
    print(
        f"Instructions per request (client CPU, callgrind): (I({n2}) - I({n1})) / {n2 - n1}, "
        "× the persistent-connection floor"
    )
    names = list(data["workloads"])
    print(f"{'variant':<40}" + "".join(f"{data['workloads'][n]:>26}" for n in names))
    for alias, label in data["variants"].items():
        row = f"{label:<40}"
        for name in names:
            count = data["instructions_per_request"][alias][name]
            ratio = data["ratio_to_persistent"][alias][name]
            cell = f"{count:,.0f} " + (f"{ratio:>6.2f}×" if ratio is not None else "    n/a")
            row += f"{cell:>26}"
        print(row)
