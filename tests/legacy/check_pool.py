"""Run under a legacy-style settings module: report the pool it got, as JSON.

Holds (bound + 1) connections from as many threads, the last waiting into a
PoolTimeout, while counting the server's sessions.
"""

import json
import os
import sys
import threading

import django

sys.path.insert(0, os.getcwd())
django.setup()

from django.db import connections  # noqa: E402

import django_pool  # noqa: E402
from tests.helpers import Server  # noqa: E402

alias = "default"
connection = connections[alias]
options = django_pool.config.PoolOptions.from_settings(alias, connection.settings_dict)
bound = options.pool_size + options.max_overflow
server = Server(alias)
hold = threading.Barrier(bound + 1)
outcomes = []


def worker():
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
        outcomes.append("ok")
        hold.wait()
    except django_pool.PoolTimeout:
        outcomes.append("timeout")
    finally:
        connections[alias].close()


threads = [threading.Thread(target=worker) for _ in range(bound)]
for thread in threads:
    thread.start()
while django_pool.get_stats(alias).get(alias, {}).get("in_use", 0) < bound:
    pass
sessions_at_bound = server.count()
extra = threading.Thread(target=worker)  # one more: it must time out
extra.start()
extra.join()
hold.wait()
for thread in threads:
    thread.join()
stats = django_pool.get_stats(alias)[alias]
print(
    json.dumps(
        {
            "engine": connection.settings_dict["ENGINE"],
            "class": f"{type(connection).__module__}.{type(connection).__name__}",
            "sessions_at_bound": sessions_at_bound,
            "outcomes": sorted(outcomes),
            "pool_size": stats["pool_size"],
            "max_overflow": stats["max_overflow"],
            "recycle": stats["recycle"],
            "pre_ping": options.pre_ping,
            "timeouts": stats.get("timeouts_num", 0),
        }
    )
)
