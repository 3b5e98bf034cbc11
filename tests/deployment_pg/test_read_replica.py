"""Read replicas: a router sends reads to a streaming standby, writes to the primary.

A site process (``replica_site``) with ``default`` (the primary) and ``replica``
(the standby) aliases, one pool each, runs ORM traffic from 4 threads; then
``pool_status`` and the Prometheus collector must show both pools, and each
server's own session count must match what its pool has open.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import DATABASE

pytestmark = pytest.mark.deployment_pg

ROOT = Path(__file__).resolve().parents[2]


def sessions(instance) -> int:
    """Return the site's sessions on *instance*, as the server counts them."""
    return instance.query(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'replica_site'"
    )[0][0]


def read_line(process: subprocess.Popen, timeout: float) -> str:
    """Return the next stdout line of *process*; fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            return process.stdout.readline()
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"the site printed nothing: {process.stderr.read()}")


def test_router_with_a_pool_per_alias(shared_cluster):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.deployment_pg.replica_site.settings",
        "REPLICA_SITE_DATABASE": DATABASE,
        "REPLICA_SITE_PRIMARY_PORT": str(shared_cluster.primary.port),
        "REPLICA_SITE_REPLICA_PORT": str(shared_cluster.standby.port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.deployment_pg.replica_site.probe"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = read_line(process, timeout=120)
        assert line, f"the site exited: {process.stderr.read()}"
        report = json.loads(line)
        # While the site's pools are open: each server sees exactly its pool's sessions.
        on_primary, on_standby = sessions(shared_cluster.primary), sessions(shared_cluster.standby)
        process.stdin.write("\n")
        process.stdin.flush()
        assert process.wait(timeout=30) == 0, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    assert report["driver"] == ("psycopg" if is_psycopg3 else "psycopg2")  # the suite's choice
    # The router did its job: writes on default, reads on replica, and the rows
    # written to the primary were read back from the standby.
    assert report["dbs"] == {"write": ["default"], "read": ["replica"]}
    assert report["rows"] == 100
    stats = report["stats"]
    assert set(stats) == {"default", "replica"}
    for alias in ("default", "replica"):
        assert stats[alias]["checkouts_num"] >= 100
        assert stats[alias]["open"] <= 4  # pool_size 2 + max_overflow 2
        assert stats[alias]["in_use"] == 0
    assert on_primary == stats["default"]["open"]
    assert on_standby == stats["replica"]["open"]

    # pool_status shows both pools, each with its own server and this process's numbers.
    by_alias = {entry["alias"]: entry for entry in report["pool_status"]}
    assert set(by_alias) == {"default", "replica"}
    assert by_alias["default"]["port"] == str(shared_cluster.primary.port)
    assert by_alias["replica"]["port"] == str(shared_cluster.standby.port)
    for alias, entry in by_alias.items():
        assert "error" not in entry, entry
        assert entry["bound_per_process"] == 4
        assert entry["this_process"]["checkouts_num"] > stats[alias]["checkouts_num"]  # + probe

    # Prometheus: both aliases in every family.
    checkouts = {
        sample.labels["alias"]: sample.value
        for family in text_string_to_metric_families(report["prometheus"])
        if family.name == "django_pool_checkouts"
        for sample in family.samples
        if sample.name == "django_pool_checkouts_total"
    }
    assert set(checkouts) == {"default", "replica"}
    assert all(value >= 100 for value in checkouts.values())
