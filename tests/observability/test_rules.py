"""One statement of the settings rules; pooled backends found by class, not by ENGINE name."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connections

import django_pool
from django_pool.checks import check_settings
from django_pool.rules import is_pooled_engine, problems_in, settings_problems
from tests import helpers

CUSTOM = "tests.testapp.custom_backend"


def test_the_wrapper_and_the_checks_say_the_same(django_db_blocker):
    for settings, check_id in (({"CONN_MAX_AGE": 60}, "E001"), ({"OPTIONS": {"pool": 1}}, "E002")):
        [problem] = problems_in("config", settings)
        assert problem.id == f"django_pool.{check_id}"
        wrapper = helpers.sqlite_wrapper("/tmp/django_pool_rules.sqlite3", "config", **settings)
        with django_db_blocker.unblock(), pytest.raises(ImproperlyConfigured) as info:
            wrapper.ensure_connection()
        assert str(info.value) == f"{problem.message} {problem.hint}"
    both = settings_problems("x", conn_max_age=None, native_pool=True)
    assert [p.id for p in both] == ["django_pool.E001", "django_pool.E002"]
    assert settings_problems("x", conn_max_age=0, native_pool=False) == []


def test_pooled_backends_are_found_by_class():
    assert is_pooled_engine("django_pool.backends.postgresql")
    assert is_pooled_engine(CUSTOM)  # not under django_pool.backends
    assert not is_pooled_engine("django.db.backends.sqlite3")
    assert not is_pooled_engine("no.such.backend")
    assert not is_pooled_engine(None)


def test_a_custom_pooled_backend_gets_the_checks(monkeypatch):
    monkeypatch.setitem(
        connections.settings, "custom", {"ENGINE": CUSTOM, "NAME": "x", "CONN_MAX_AGE": 60}
    )
    monkeypatch.setitem(
        connections.settings,
        "stock",
        {"ENGINE": "django.db.backends.sqlite3", "NAME": "y", "CONN_MAX_AGE": 60},
    )
    found = check_settings()
    assert [(e.id, e.msg.split("]")[0]) for e in found] == [
        ("django_pool.E001", "settings.DATABASES['custom'")
    ]


def test_a_custom_pooled_backend_gets_pool_status(monkeypatch, capsys, tmp_path, django_db_blocker):
    settings_dict = {**connections.settings["default"], "ENGINE": CUSTOM}
    settings_dict["NAME"] = str(tmp_path / "custom.sqlite3")
    monkeypatch.setitem(connections.settings, "custom", settings_dict)
    with django_db_blocker.unblock():
        try:
            call_command("pool_status", "--json", database="custom")
            [report] = json.loads(capsys.readouterr().out)
            assert report["alias"] == "custom" and "error" not in report
            assert report["this_process"]["checkouts_num"] == 1
            stock = {**settings_dict, "ENGINE": "django.db.backends.sqlite3"}
            monkeypatch.setitem(connections.settings, "stock", stock)
            with pytest.raises(CommandError, match="'stock' is not pooled by django-pool"):
                call_command("pool_status", database="stock")
        finally:
            connections["custom"].close()


def test_pool_status_exits_non_zero_when_it_cannot_connect(monkeypatch, capsys, django_db_blocker):
    settings_dict = {
        **connections.settings["default"],  # Django's defaults filled in
        "ENGINE": "django_pool.backends.postgresql",
        "NAME": "app",
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "1",  # nothing listens there
        "POOL": {"timeout": 0.2},
    }
    monkeypatch.setitem(connections.settings, "down", settings_dict)
    with django_db_blocker.unblock():
        try:
            with pytest.raises(CommandError, match="cannot connect to 'down'"):
                call_command("pool_status", database="down")
            assert "  server    cannot connect: " in capsys.readouterr().out  # the table first
        finally:
            connections["down"].close()
            django_pool.dispose("down")


def test_pool_status_leaves_out_an_in_memory_sqlite_database(monkeypatch, capsys):
    memory = {**connections.settings["default"], "NAME": ":memory:"}
    monkeypatch.setitem(connections.settings, "mem", memory)
    with pytest.raises(CommandError, match="'mem' is not pooled"):
        call_command("pool_status", database="mem")
