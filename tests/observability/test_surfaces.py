"""pool_status, the Prometheus collector and the system checks, as users meet them."""

import json

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from django_pool.checks import check_server, check_settings
from django_pool.contrib.prometheus import register
from tests.helpers import session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_pool_status_json_and_table(vendor, configure_pool, capsys):
    configure_pool(vendor, pool_size=3, max_overflow=2)
    session_id(vendor)
    connections[vendor].close()
    call_command("pool_status", "--json", database=vendor)
    [report] = json.loads(capsys.readouterr().out)
    assert report["alias"] == vendor
    assert report["options"]["pool_size"] == 3 and report["bound_per_process"] == 5
    assert report["probe_ms"] >= 0 and "error" not in report
    assert report["this_process"]["checkouts_num"] >= 1
    if connections[vendor].vendor != "sqlite":
        assert report["server"]["max_connections"] > 0

    call_command("pool_status", database=vendor, watch=0.01, count=2)
    out = capsys.readouterr().out
    assert out.count("\n  pool      ") == 2  # two refreshes
    assert "pool_size 3 + max_overflow 2" in out and "at most 5 connections per process" in out
    # The probe is the command's own; the workers' pools are not described as if seen.
    assert "(this command's own connection)" in out
    assert "each process has its own pools, not visible from here" in out
    assert "checkouts in this process" not in out


def test_pool_status_in_its_own_process_shows_no_pool_of_its_own(vendor):
    from io import StringIO

    from django_pool.management.commands.pool_status import Command

    out = StringIO()
    command = Command(stdout=out)
    command.stdout.write(command.render([command.inspect(vendor)]))
    text = out.getvalue()
    # A fresh process: only the probe's one checkout, so no "this process" line.
    assert "  this process  " not in text
    assert "  workers   each process has its own pools" in text


def test_pool_status_into_a_pipe_clears_no_screen(vendor, capsys):
    call_command("pool_status", database=vendor, watch=0.01, count=2)
    assert "\033[" not in capsys.readouterr().out  # capsys is no terminal


def test_prometheus_scrape(vendor, configure_pool):
    configure_pool(vendor, pool_size=2, max_overflow=0)
    for _ in range(3):
        session_id(vendor)
        connections[vendor].close()
    registry = CollectorRegistry()
    collector = register(registry)
    # Twice (two apps' ready()): the same collector, no "Duplicated timeseries".
    assert register(registry) is collector
    registry.unregister(collector)  # and after an unregister, registered again
    assert register(registry) is collector
    text = generate_latest(registry).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("django_pool_checkouts_total", (("alias", vendor),))] == 3
    assert samples[("django_pool_connects_total", (("alias", vendor),))] == 1
    assert samples[("django_pool_connections", (("alias", vendor), ("state", "idle")))] == 1
    assert samples[("django_pool_size", (("alias", vendor),))] == 2
    assert samples[("django_pool_hold_seconds_count", (("alias", vendor),))] == 3
    assert samples[("django_pool_wait_seconds_bucket", (("alias", vendor), ("le", "+Inf")))] == 3
    assert "# TYPE django_pool_wait_seconds histogram" in text


def test_settings_checks_fire_and_stay_quiet(monkeypatch):
    assert check_settings() == []
    default = connections.settings["default"]
    monkeypatch.setitem(default, "CONN_MAX_AGE", 60)
    monkeypatch.setitem(default, "OPTIONS", {"pool": True})
    monkeypatch.setitem(default, "POOL", {"pool_sise": 2})
    ids = [e.id for e in check_settings()]
    assert ids == ["django_pool.E001", "django_pool.E002", "django_pool.E003"]


def test_release_per_transaction_checks(monkeypatch):
    # SQLite refuses it; with ATOMIC_REQUESTS it could never release anything.
    monkeypatch.setitem(connections.settings["default"], "POOL", {"release": "transaction"})
    monkeypatch.setitem(
        connections.settings,
        "extra",
        {
            "ENGINE": "django_pool.backends.postgresql",
            "ATOMIC_REQUESTS": True,
            "POOL": {"release": "transaction"},
        },
    )
    found = check_settings()
    assert [e.id for e in found] == ["django_pool.E003", "django_pool.W003"]
    assert "settings.DATABASES['default']['POOL']['release']" in found[0].msg
    assert "SQLite does not support" in found[0].msg
    assert "settings.DATABASES['extra']['ATOMIC_REQUESTS']" in found[1].msg
    monkeypatch.setitem(connections.settings["extra"], "ATOMIC_REQUESTS", False)
    assert [e.id for e in check_settings()] == ["django_pool.E003"]


@pytest.mark.parametrize(
    ("pool", "sizes", "bound"),
    [
        (
            {"pool_class": "lifo", "pool_size": 2, "max_overflow": 1},
            "pool_size 2 + max_overflow 1",
            3,
        ),
        ({"pool_class": "singleton_thread", "pool_size": 4}, "pool_size 4", 4),
        ({"pool_class": "static"}, None, 1),
        ({"pool_class": "assertion"}, None, 1),
        ({"pool_class": "null"}, None, None),
        # A subclass, by its dotted path: what its class uses, not a QueuePool's sizes.
        ({"pool_class": "tests.legacy.test_sqlalchemy_spellings.OwnStaticPool"}, None, 1),
    ],
)
def test_pool_status_states_each_pool_class_bound(
    vendor, configure_pool, capsys, pool, sizes, bound
):
    # The bound is the class's: pool_size + max_overflow is a QueuePool's only.
    configure_pool(vendor, **pool)
    call_command("pool_status", "--json", database=vendor)
    [report] = json.loads(capsys.readouterr().out)
    assert report["bound_per_process"] == bound
    call_command("pool_status", database=vendor)
    out = capsys.readouterr().out
    assert f"  engine    {connections[vendor].settings_dict['ENGINE']}\n" in out
    assert ("max_overflow" in out) == (sizes is not None and "max_overflow" in sizes)
    if sizes:
        assert f"{pool['pool_class']}: {sizes}, timeout" in out
    if bound is None:
        assert "bound     none: a connection per thread that asks for one" in out
    else:
        assert f"at most {bound} connections per process" in out


def test_server_checks_fire_and_stay_quiet(server_vendor, configure_pool):
    assert check_server(databases=[server_vendor]) == []
    configure_pool(server_vendor, pool_size=100_000, max_overflow=0)
    warnings = check_server(databases=[server_vendor])
    assert [w.id for w in warnings] == ["django_pool.W001"]
    assert "processes × (pool_size + max_overflow)" in warnings[0].hint
    if connections[server_vendor].vendor == "mysql":
        configure_pool(server_vendor, recycle=None)
        assert [w.id for w in check_server(databases=[server_vendor])] == ["django_pool.W002"]
        # The recycle from the MySQL recipe's setting: the hint names that setting.
        configure_pool(server_vendor)
        with override_settings(DATABASE_WAIT_TIMEOUT=10**6):
            [warning] = check_server(databases=[server_vendor])
        assert "settings.DATABASE_WAIT_TIMEOUT is 1000000" in warning.hint


def test_pool_status_with_nothing_pooled_says_why_of_each(monkeypatch):
    # It said "an in-memory SQLite database or POOL False" of them all.
    from django.core.management.base import CommandError

    for alias in list(connections.settings):
        monkeypatch.setitem(connections.settings[alias], "POOL", False)
    with pytest.raises(CommandError) as info:
        call_command("pool_status", skip_checks=True)
    assert "'default' has \"POOL\": False" in str(info.value)
