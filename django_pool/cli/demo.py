"""A pooled Django project on an embedded SQLite file, and what the pool did for it.

Each simulated request goes through Django's request signals, exactly as a
view would: ``request_started``, ORM work, ``request_finished`` (which closes,
that is returns, the connection).
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

__all__ = ["run"]


def run(*, requests: int, threads: int) -> int:
    """Simulate *requests* requests from *threads* threads; print stats; return 0."""
    import django
    from django.conf import settings

    database = Path(tempfile.mkdtemp(prefix="django_pool_demo_")) / "demo.sqlite3"
    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django_pool.backends.sqlite3",
                "NAME": str(database),
                "POOL": {"pool_size": 4, "max_overflow": 0, "timeout": 10},
            }
        },
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()

    from django.core.signals import request_finished, request_started
    from django.db import connection

    import django_pool

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE visit (id INTEGER PRIMARY KEY, path TEXT)")
    request_finished.send(sender=None)

    def request(i: int) -> None:
        request_started.send(sender=None)
        try:
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO visit (path) VALUES (%s)", [f"/page/{i % 10}"])
                cursor.execute("SELECT COUNT(*) FROM visit")
                cursor.fetchone()
        finally:
            request_finished.send(sender=None)

    def worker(start: int) -> None:
        for i in range(start, requests, threads):
            request(i)

    print(f"{requests} requests from {threads} threads, SQLite file {database}")
    began = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - began

    stats = django_pool.get_stats("default")["default"]
    print(f"done in {elapsed:.2f} s ({requests / elapsed:,.0f} requests/s)")
    print(
        f"physical connections opened: {stats.get('connections_num', 0)} "
        f"(pool_size {stats['pool_size']}, max_overflow {stats['max_overflow']}); "
        f"checkouts: {stats.get('checkouts_num', 0)}; "
        f"without a pool Django would have opened {requests}."
    )
    return 0
