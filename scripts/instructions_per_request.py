"""Instructions per request of one variant, counted with callgrind, on any checkout.

The harness behind docs/performance.md's before/after table: it needs nothing
from django_pool but its ENGINEs, so it measures an old commit as well
(``PYTHONPATH=<old checkout> python scripts/instructions_per_request.py ...``).

    python scripts/instructions_per_request.py postgresql pool W0
    python scripts/instructions_per_request.py mysql persistent W1 --requests 50,150

VENDOR: postgresql, mysql or sqlite (this machine's servers, database
``ic_bench``, table ``ic_item`` with one row: created when missing).
VARIANT: pool (django-pool), persistent (CONN_MAX_AGE=None), native
(Django's psycopg pool), none (CONN_MAX_AGE=0); pools of 8 unless
``--pool-size`` says otherwise. W0: ensure_connection() between the request
signals; W1: one ORM query. Prints
``(I(N2) - I(N1)) / (N2 - N1)`` with PYTHONHASHSEED=0. With ``--threads T``, each
of T threads runs the requests at once (callgrind runs one thread at a time, so
the count is the client's CPU per request under contention, not a timing).
More threads than connections make every checkout wait: ``--threads 2
--pool-size 1`` runs the waiting path in lockstep, and counts it as steadily
as a single thread (32 threads on 8 vary by several per cent between runs).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading

SQLITE_FILE = "/tmp/ic_bench.sqlite3"


def child(
    vendor: str, variant: str, work: str, n: int, threads: int = 0, pool_size: int = 8
) -> None:
    """Run *n* requests (after 20 to warm up) in this process, or in each of *threads* threads."""
    import django
    from django.conf import settings

    base = {
        "postgresql": {"NAME": "ic_bench", "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"},
        "mysql": {"NAME": "ic_bench", "USER": "root", "HOST": "127.0.0.1", "PORT": "3306"},
        "sqlite": {"NAME": SQLITE_FILE},
    }[vendor]
    stock = {"postgresql": "postgresql", "mysql": "mysql", "sqlite": "sqlite3"}[vendor]
    db = dict(base)
    if variant == "pool":
        db.update(
            ENGINE=f"django_pool.backends.{stock}",
            CONN_MAX_AGE=0,
            POOL={"pool_size": pool_size, "max_overflow": 0},
        )
    else:
        db["ENGINE"] = f"django.db.backends.{stock}"
        db["CONN_MAX_AGE"] = None if variant == "persistent" else 0
        if variant == "native":
            db["OPTIONS"] = {"pool": {"min_size": 1, "max_size": pool_size}}
    settings.configure(
        DATABASES={"default": db},
        INSTALLED_APPS=[],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()
    from django.core.signals import request_finished, request_started
    from django.db import connections, models

    class Item(models.Model):
        name = models.CharField(max_length=50)

        class Meta:
            app_label = "ic"
            db_table = "ic_item"

    def w0() -> None:
        connections["default"].ensure_connection()

    def w1() -> None:
        Item.objects.filter(pk=1).first()

    work_fn = {"W0": w0, "W1": w1}[work]

    def requests(count: int) -> None:
        for _ in range(count):
            request_started.send(sender=None)
            try:
                work_fn()
            finally:
                request_finished.send(sender=None)

    if not threads:
        requests(20 + n)
        return
    # Contended: more threads than the pool's 8 connections, all at once.
    start = threading.Barrier(threads)

    def thread_main() -> None:
        start.wait()
        requests(20 + n)

    started = [threading.Thread(target=thread_main) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()


def prepare(vendor: str) -> None:
    """Create the database and its one-row table when missing (outside callgrind)."""
    if vendor == "postgresql":
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname = 'ic_bench'").fetchone():
                c.execute("CREATE DATABASE ic_bench")
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=ic_bench", autocommit=True) as c:
            c.execute("CREATE TABLE IF NOT EXISTS ic_item (id serial PRIMARY KEY, name text)")
            c.execute(
                "INSERT INTO ic_item (name) SELECT 'a' WHERE NOT EXISTS (SELECT 1 FROM ic_item)"
            )
    elif vendor == "mysql":
        import MySQLdb

        c = MySQLdb.connect(host="127.0.0.1", user="root", autocommit=True)
        cursor = c.cursor()
        cursor.execute("CREATE DATABASE IF NOT EXISTS ic_bench")
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS ic_bench.ic_item "
            "(id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50))"
        )
        cursor.execute(
            "INSERT INTO ic_bench.ic_item (name) SELECT 'a' FROM DUAL "
            "WHERE NOT EXISTS (SELECT 1 FROM ic_bench.ic_item)"
        )
        c.close()
    else:
        import sqlite3

        c = sqlite3.connect(SQLITE_FILE)
        c.execute("CREATE TABLE IF NOT EXISTS ic_item (id INTEGER PRIMARY KEY, name TEXT)")
        c.execute("INSERT INTO ic_item (name) SELECT 'a' WHERE NOT EXISTS (SELECT 1 FROM ic_item)")
        c.commit()
        c.close()


def count(args: argparse.Namespace, n: int) -> int:
    """Return the instructions of one child process running *n* requests."""
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, __file__, args.vendor, args.variant, args.workload, "--child", str(n),
        "--threads", str(args.threads), "--pool-size", str(args.pool_size),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", done.stderr).group(1))


def main() -> None:
    """Parse the arguments; count, or be the counted child."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("vendor", choices=["postgresql", "mysql", "sqlite"])
    parser.add_argument("variant", choices=["pool", "persistent", "native", "none"])
    parser.add_argument("workload", choices=["W0", "W1"])
    parser.add_argument("--requests", default="50,150", help="N1,N2 (default 50,150)")
    parser.add_argument(
        "--threads", type=int, default=0, help="run the requests in this many threads at once"
    )
    parser.add_argument(
        "--pool-size", type=int, default=8, help="pool_size of pool and native (default 8)"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.vendor, args.variant, args.workload, args.child, args.threads, args.pool_size)
        return
    prepare(args.vendor)
    n1, n2 = (int(n) for n in args.requests.split(","))
    per_request = (count(args, n2) - count(args, n1)) // ((n2 - n1) * max(args.threads, 1))
    where = f" ({args.threads} threads)" if args.threads else ""
    print(f"{args.vendor} {args.variant} {args.workload}{where} {per_request}")


if __name__ == "__main__":
    main()
