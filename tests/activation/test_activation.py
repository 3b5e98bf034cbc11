"""Activation ("django_pool" in INSTALLED_APPS) on every kind of ENGINE, in its own process.

The stock GeoDjango ENGINEs, a project's own PostgreSQL subclass and
django-prometheus's backend are pooled and keep their own behaviour; an
ENGINE that cannot be pooled keeps its ENGINE and gets warning W004.
Reuse is shown by the server's session id (or, on SpatiaLite, a temporary
table) seen again by later requests, each in a new thread.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from tests.conftest import _require

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def run_report():
    names = {"postgresql": connections["postgresql"].settings_dict["NAME"]}
    for alias in ("postgis", "mysqlgis", "spatialite"):
        if alias in settings.DATABASES:
            names[alias] = connections[alias].settings_dict["NAME"]
    result = subprocess.run(
        [sys.executable, "tests/activation/report.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.activation.settings",
            "DJANGO_POOL_ACTIVATION_NAMES": json.dumps(names),
            "PYTHONPATH": str(ROOT),
        },
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def report(django_db_setup, django_db_blocker):
    _require("postgresql")
    return run_report()


def test_third_party_and_own_backends_are_pooled_and_keep_their_behaviour(report):
    engines, classes = report["engines"], report["classes"]
    assert engines["default"] == "django_pool.backends.pooled.tests.activation.custom_pg"
    assert classes["default"] == {
        "name": "django_pool.backends.pooled.tests.activation.custom_pg.base.DatabaseWrapper",
        "pooled": True,
    }
    custom = report["custom"]
    # Three requests in three threads, one physical connection (pool_size 1).
    assert len({r["session"] for r in custom}) == 1
    assert report["custom_opened"] == 1  # its get_new_connection: once per physical connection
    for request in custom:
        assert request["application_name"] == "custom-backend"  # its setup, kept
        assert request["state_ready"] is True  # its init_connection_state, at every checkout
        assert request["display_name"] == "Custom PostgreSQL"  # its attributes

    assert engines["prometheus"] == (
        "django_pool.backends.pooled.django_prometheus.db.backends.postgresql"
    )
    assert classes["prometheus"]["pooled"] is True
    assert len(set(report["prometheus"])) == 1
    # django-prometheus counts connections in get_new_connection: now physical ones.
    assert report["prometheus_connections_total"] == 1


def test_unpoolable_engine_keeps_its_engine_and_gets_a_warning(report):
    assert report["engines"]["unpoolable"] == "tests.activation.unpoolable"
    assert report["classes"]["unpoolable"]["pooled"] is False
    warnings = [c for c in report["checks"] if c["id"] == "django_pool.W004"]
    assert len(warnings) == 1
    assert "'unpoolable'" in warnings[0]["msg"]
    assert "'tests.activation.unpoolable'" in warnings[0]["msg"]
    # Opted out: left alone, and no warning.
    assert report["engines"]["opted_out"] == "django.db.backends.postgresql"


@pytest.mark.parametrize("alias", ["postgis", "mysqlgis", "spatialite"])
def test_stock_gis_engines_are_pooled(report, alias):
    _require(alias)
    assert report["engines"][alias] == f"django_pool.backends.{alias}"
    assert report["classes"][alias]["name"] == f"django_pool.backends.{alias}.base.DatabaseWrapper"
    requests = report[alias]
    assert [r["inside"] for r in requests] == [1, 2, 3]  # stored and queried
    if alias == "spatialite":
        # The temporary table grew request after request: one connection.
        assert [r["session"] for r in requests] == [1, 2, 3]
    else:
        assert len({r["session"] for r in requests}) == 1
