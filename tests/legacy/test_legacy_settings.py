"""Settings written for the packages django-pool replaces work, with the options they asked for.

Each settings file is written the way that package's README says, with one
line changed (the ENGINE or the app name). It runs in its own process, as
activation and global settings take effect at startup.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import _require
from tests.helpers import ForeignSessions, ScratchDatabase

ROOT = Path(__file__).resolve().parents[2]
DATABASE = f"django_pool_legacy_{os.getpid()}"


@pytest.fixture(scope="module", autouse=True)
def foreign_sessions():
    """Another client sits idle on ``test`` of each server: the counts must not see it."""
    from django.conf import settings

    aliases = [a for a in ("postgresql", "mysql") if a not in settings.UNAVAILABLE]
    foreign = ForeignSessions(aliases)
    yield
    foreign.close()


@pytest.fixture
def database(request):
    """This run's own database on the server the test uses; dropped afterwards."""
    alias = request.param
    _require(alias)
    scratch = ScratchDatabase(alias, DATABASE)
    yield scratch.name
    scratch.drop()


def run(settings_module, database):
    result = subprocess.run(
        [sys.executable, "tests/legacy/check_pool.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DJANGO_POOL_LEGACY_DB": database,
            "PYTHONPATH": str(ROOT),
        },
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def assert_bounded(report):
    # pool_size 3 + max_overflow 1: the server sees 4, a fifth request times out.
    assert (report["pool_size"], report["max_overflow"]) == (3, 1)
    assert report["sessions_at_bound"] == 4
    assert report["outcomes"] == ["ok"] * 4 + ["timeout"]


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_djorm_ext_pool(database):
    report, _ = run("tests.legacy.settings_djorm", database)
    # INSTALLED_APPS activation turned the stock ENGINE into the pooled twin.
    assert report["engine"] == "django_pool.backends.postgresql"
    assert report["class"] == "django_pool.backends.postgresql.base.DatabaseWrapper"
    assert_bounded(report)
    assert report["recycle"] == 3600 and report["pre_ping"] is True


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_django_postgrespool(database):
    report, _ = run("tests.legacy.settings_postgrespool", database)
    assert_bounded(report)
    assert report["recycle"] == 300


@pytest.mark.parametrize("database", ["mysql"], indirect=True)
def test_django_db_connection_pool(database):
    report, _ = run("tests.legacy.settings_ddcp", database)
    assert_bounded(report)
    assert report["recycle"] == 24 * 60 * 60


@pytest.mark.parametrize("database", ["mysql"], indirect=True)
def test_mysql_recipe_wait_timeout(database):
    report, _ = run("tests.legacy.settings_mysql_recipe", database)
    assert_bounded(report)
    assert report["recycle"] == pytest.approx(28800 * 0.9)


def test_precedence_and_meaningless_keys(monkeypatch, settings):
    from django_pool.config import PoolOptions

    settings.DATABASE_POOL_ARGS = {"pool_size": 2, "max_overflow": 2, "echo": True}
    settings.DJORM_POOL_OPTIONS = {"pool_size": 9, "recycle": 60}
    with pytest.warns(UserWarning, match=r"settings.DATABASE_POOL_ARGS\['echo'\] is ignored"):
        options = PoolOptions.from_settings(
            "x", {"POOL_OPTIONS": {"MAX_OVERFLOW": 5}, "POOL": {"max_overflow": 7}}
        )
    # POOL > POOL_OPTIONS > DATABASE_POOL_ARGS > DJORM_POOL_OPTIONS > defaults
    assert (options.pool_size, options.max_overflow, options.recycle) == (2, 7, 60)


def test_an_alias_pool_class_without_sizes_overrides_global_sizes(settings):
    from django.core.exceptions import ImproperlyConfigured

    from django_pool.config import PoolOptions

    # Global sizes are for every alias; one alias may still pick a class without sizes.
    settings.DATABASE_POOL_ARGS = {"pool_size": 2, "max_overflow": 3}
    options = PoolOptions.from_settings("x", {"POOL": {"pool_class": "null"}})
    assert options.pool_class == "null" and options.bound() is None
    assert PoolOptions.from_settings("y", {}).bound() == 5  # the others keep them
    # Said together in one global place, the contradiction is still an error.
    settings.DATABASE_POOL_CLASS = "null"
    with pytest.raises(ImproperlyConfigured, match=r"DATABASE_POOL_ARGS\['max_overflow'\] has"):
        PoolOptions.from_settings("y", {})


def test_legacy_errors_name_the_legacy_setting(settings):
    from django.core.exceptions import ImproperlyConfigured

    from django_pool.config import PoolOptions

    settings.DATABASE_POOL_ARGS = {"pool_sizes": 2}
    with pytest.raises(ImproperlyConfigured, match=r"settings.DATABASE_POOL_ARGS has an unknown"):
        PoolOptions.from_settings("x", {})
    del settings.DATABASE_POOL_ARGS
    with pytest.raises(ImproperlyConfigured, match=r"\['POOL_OPTIONS'\]\['POOL_SIZE'\] is improp"):
        PoolOptions.from_settings("x", {"POOL_OPTIONS": {"POOL_SIZE": 0}})


def test_a_meaningless_key_warns_once_per_settings(settings):
    import warnings

    from django_pool.config import PoolOptions

    settings.DATABASE_POOL_ARGS = {"pool_size": 2, "logging_name": "db"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # the system checks, then the first connection
            PoolOptions.from_settings("x", {})
        settings.DATABASE_POOL_ARGS = {"pool_size": 3, "logging_name": "db"}  # changed: again
        PoolOptions.from_settings("x", {})
    said = [str(w.message) for w in caught if "'logging_name'] is ignored" in str(w.message)]
    assert len(said) == 2
