"""System checks for pools behind PgBouncer (``POOL['pgbouncer']``): W010 to W014.

Settings only, no server: these say what cannot work behind transaction
pooling before the first request finds out (tests/deployment_pg shows the
working configuration against a real PgBouncer).
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from django_pool.checks import check_settings
from django_pool.config import PoolOptions

BEHIND = {
    "ENGINE": "django_pool.backends.postgresql",
    "NAME": "app",
    "HOST": "127.0.0.1",
    "PORT": "6432",
    "DISABLE_SERVER_SIDE_CURSORS": True,
    "POOL": {"pgbouncer": "transaction"},
}


def ids(monkeypatch, alias_settings):
    monkeypatch.setitem(connections.settings, "bouncer", alias_settings)
    return [e.id for e in check_settings() if "'bouncer'" in e.msg]


def test_the_working_transaction_mode_settings_pass(monkeypatch):
    assert ids(monkeypatch, BEHIND) == []


def test_reset_session_behind_transaction_pooling(monkeypatch):
    found = ids(
        monkeypatch, {**BEHIND, "POOL": {"pgbouncer": "transaction", "reset_session": True}}
    )
    assert found == ["django_pool.W010"]
    # In session mode a client keeps its server session: the reset does reset it.
    assert (
        ids(monkeypatch, {**BEHIND, "POOL": {"pgbouncer": "session", "reset_session": True}}) == []
    )


def test_server_side_cursors_behind_transaction_pooling(monkeypatch):
    assert ids(monkeypatch, {**BEHIND, "DISABLE_SERVER_SIDE_CURSORS": False}) == [
        "django_pool.W011"
    ]
    session = {**BEHIND, "DISABLE_SERVER_SIDE_CURSORS": False, "POOL": {"pgbouncer": "session"}}
    assert ids(monkeypatch, session) == []


def test_prepared_statements_behind_transaction_pooling(monkeypatch):
    binding = {**BEHIND, "OPTIONS": {"server_side_binding": True}}
    assert ids(monkeypatch, binding) == ["django_pool.W012"]
    unprepared = {**BEHIND, "OPTIONS": {"server_side_binding": True, "prepare_threshold": None}}
    assert ids(monkeypatch, unprepared) == []


def test_statement_pooling(monkeypatch):
    assert ids(monkeypatch, {**BEHIND, "POOL": {"pgbouncer": "statement"}}) == ["django_pool.W013"]


def test_port_6432_without_saying_what_is_there(monkeypatch):
    unsaid = {**BEHIND, "POOL": {}}
    assert ids(monkeypatch, unsaid) == ["django_pool.W014"]
    assert ids(monkeypatch, {**unsaid, "PORT": "5432,6432"}) == ["django_pool.W014"]
    assert ids(monkeypatch, {**unsaid, "PORT": "5432"}) == []


def test_pgbouncer_must_name_a_pool_mode():
    with pytest.raises(ImproperlyConfigured) as info:
        PoolOptions.from_settings("bouncer", {"POOL": {"pgbouncer": "transactions"}})
    assert "settings.DATABASES['bouncer']['POOL']['pgbouncer']" in str(info.value)
    assert "'session', 'transaction', 'statement'" in str(info.value)
    assert PoolOptions.from_settings("b", {"POOL": {"PgBouncer": "Session"}}).pgbouncer == "session"


def test_every_postgresql_engine_is_checked(monkeypatch):
    # Decided by the wrapper's vendor, not the ENGINE's name: a pooled
    # third-party PostgreSQL backend is checked like the stock one.
    custom = {**BEHIND, "ENGINE": "django_pool.backends.pooled.tests.activation.custom_pg"}
    assert ids(monkeypatch, {**custom, "POOL": {"pgbouncer": "statement"}}) == ["django_pool.W013"]
    assert ids(monkeypatch, {**custom, "POOL": {}}) == ["django_pool.W014"]


def test_postgis_is_checked(monkeypatch):
    pytest.importorskip("django.contrib.gis.gdal", reason="PostGIS's backend needs GDAL")
    postgis = {**BEHIND, "ENGINE": "django_pool.backends.postgis"}
    assert ids(monkeypatch, {**postgis, "POOL": {"pgbouncer": "statement"}}) == ["django_pool.W013"]


def test_other_vendors_are_not_checked(monkeypatch):
    mysql = {**BEHIND, "ENGINE": "django_pool.backends.mysql", "PORT": "6432", "POOL": {}}
    assert ids(monkeypatch, mysql) == []
