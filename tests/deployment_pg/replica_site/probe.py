"""Run ORM traffic through the router from 4 threads, then report what the site sees.

Prints one JSON line (stats, ``pool_status --json``, the Prometheus text), then
waits for a line on stdin before exiting, so that the test can count this
process's sessions on each server while its pools are still open.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import time

import django


def main() -> None:
    """Migrate, run the traffic, report, wait for the test."""
    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from prometheus_client import CollectorRegistry, generate_latest

    import django_pool
    from django_pool.contrib.prometheus import register
    from tests.testapp.models import Item

    call_command("migrate", run_syncdb=True, database="default", verbosity=0)
    dbs: dict[str, set] = {"write": set(), "read": set()}

    def work(i: int) -> None:
        for n in range(25):
            with django_pool.release_connections():  # one request
                item = Item.objects.create(name=f"t{i}-{n}")
                dbs["write"].add(item._state.db)
            with django_pool.release_connections():  # the next request reads it back
                # The replica lags the primary a little: wait for the row, with a deadline.
                deadline = time.monotonic() + 10
                while not Item.objects.filter(pk=item.pk).exists():
                    if time.monotonic() > deadline:
                        raise TimeoutError("the replica never showed a row written to the primary")
                    time.sleep(0.005)
                dbs["read"].add(Item.objects.all().db)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with django_pool.release_connections():
        rows = Item.objects.count()
    stats = django_pool.get_stats()  # before pool_status's own probe checkouts
    status = io.StringIO()
    call_command("pool_status", "--json", stdout=status)
    registry = CollectorRegistry()
    register(registry)
    report = {
        "driver": connections["default"].Database.__name__,
        "dbs": {k: sorted(v) for k, v in dbs.items()},
        "rows": rows,
        "stats": stats,
        "pool_status": json.loads(status.getvalue()),
        "prometheus": generate_latest(registry).decode(),
    }
    print(json.dumps(report, default=str), flush=True)
    sys.stdin.readline()


if __name__ == "__main__":
    main()
