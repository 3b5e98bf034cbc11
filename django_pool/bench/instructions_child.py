"""One variant's requests under callgrind, for ``bench --instructions`` (run by the parent).

The parent passes, in ``DJANGO_POOL_BENCH_CHILD`` (JSON: never in argv, which
would show a password), the variant's DATABASES entry, the table, the
workloads and N1, N2. For each workload this process warms up, then runs N1
requests and N2 requests, calling :func:`mark` around each run. The parent
starts valgrind with ``--dump-before=getsid``: every mark is a callgrind dump,
so each run's instructions come out in a file of their own, and the
difference of the two runs cancels whatever a run costs besides its requests.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from typing import Any

from .targets import require_driver

#: Dumps per workload: (warm-up, N1 run, collect, N2 run); the N runs are the 2nd and 4th.
DUMPS_PER_WORKLOAD = 4

__all__ = ["DUMPS_PER_WORKLOAD", "main", "mark"]


def mark() -> None:
    """End a callgrind segment: ``getsid`` is what the parent told callgrind to dump before."""
    os.getsid(0)


def _settle(alias: str) -> None:
    """Let background work finish before counting: Django's native pool fills itself."""
    from django.db import connections

    connection = connections[alias]
    if connection.settings_dict.get("OPTIONS", {}).get("pool"):
        pool: Any = connection.pool  # type: ignore[attr-defined]  # PostgreSQL's own
        pool.wait(timeout=30)  # psycopg_pool: min_size connections open
    gc.collect()


def main() -> int:
    """Run the requests the parent asked for; print how many marks were made."""
    spec = json.loads(os.environ["DJANGO_POOL_BENCH_CHILD"])
    require_driver(spec["settings"]["ENGINE"].rsplit(".", 1)[-1])  # mysql, postgresql, ...
    from django.conf import settings

    settings.configure(
        DATABASES={"default": spec["settings"], "bench": spec["settings"]},
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    import django

    django.setup()
    from . import workloads

    workloads.use_table(spec["table"])
    marks = 0
    for name in spec["workloads"]:
        work = workloads.WORKLOADS[name][1]
        for _ in range(20):  # warm up: connections open, pools and queries built
            workloads.request(work, "bench")
        for n in (spec["n1"], spec["n2"]):
            _settle("bench")
            mark()
            for _ in range(n):
                workloads.request(work, "bench")
            mark()
            marks += 2
    print(json.dumps({"marks": marks}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
