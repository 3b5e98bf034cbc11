"""Activation's ENGINE rewriting, the pooled namespace, and pooled_wrapper(), without servers."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db.backends.postgresql import creation as pg_creation
from django.db.utils import load_backend

from django_pool.activation import activate, settle
from django_pool.creation import PooledCreationMixin
from django_pool.derive import NotPoolable, pooled_wrapper
from django_pool.wrapper import PooledDatabaseWrapperMixin
from tests.activation.custom_pg import base as custom


def test_activation_targets():
    # Aliases of their own: activation refuses aliases already connected in this thread.
    databases = {
        "x_pg": {"ENGINE": "django.db.backends.postgresql"},
        "x_postgis": {"ENGINE": "django.contrib.gis.db.backends.postgis"},
        "x_spatialite": {"ENGINE": "django.contrib.gis.db.backends.spatialite"},
        "x_mysqlgis": {"ENGINE": "django.contrib.gis.db.backends.mysql"},
        "x_tenants": {"ENGINE": "django_tenants.postgresql_backend"},
        "x_own": {"ENGINE": "tests.activation.custom_pg"},
        "x_unpoolable": {"ENGINE": "tests.activation.unpoolable"},
        "x_oracle": {"ENGINE": "django.db.backends.oracle"},
        "x_twin": {"ENGINE": "django_pool.backends.mysql"},
        "x_opted_out": {"ENGINE": "tests.activation.custom_pg", "POOL": False},
    }
    switched = activate(databases)
    engines = {alias: s["ENGINE"] for alias, s in databases.items()}
    assert switched == [
        "x_pg",
        "x_postgis",
        "x_spatialite",
        "x_mysqlgis",
        "x_tenants",
        "x_own",
        "x_unpoolable",
    ]
    assert engines["x_postgis"] == "django_pool.backends.postgis"
    assert engines["x_spatialite"] == "django_pool.backends.spatialite"
    assert engines["x_mysqlgis"] == "django_pool.backends.mysqlgis"
    assert engines["x_tenants"] == "django_pool.backends.pooled.django_tenants.postgresql_backend"
    assert engines["x_own"] == "django_pool.backends.pooled.tests.activation.custom_pg"
    assert engines["x_oracle"] == "django.db.backends.oracle"
    assert engines["x_twin"] == "django_pool.backends.mysql"
    assert engines["x_opted_out"] == "tests.activation.custom_pg"
    # Once the apps are loaded: the unpoolable one gets its ENGINE back, unpooled;
    # so does django-tenants here, which cannot be imported without contenttypes
    # installed (Django reports that at first use, as without django-pool).
    assert settle(databases) == ["x_tenants", "x_unpoolable"]
    assert databases["x_unpoolable"]["ENGINE"] == "tests.activation.unpoolable"
    assert databases["x_own"]["ENGINE"] == "django_pool.backends.pooled.tests.activation.custom_pg"


def test_pooled_namespace_builds_the_subclass_by_hand():
    wrapper = load_backend("django_pool.backends.pooled.tests.activation.custom_pg").DatabaseWrapper
    assert wrapper is pooled_wrapper(custom.DatabaseWrapper)
    assert issubclass(wrapper, custom.DatabaseWrapper)
    assert issubclass(wrapper, PooledDatabaseWrapperMixin)
    # Its own module's other names pass through the mirror.
    mirror = load_backend("django_pool.backends.pooled.tests.activation.custom_pg")
    assert mirror.OPENED is custom.OPENED
    # A stock ENGINE through the namespace is the named twin.
    stock = load_backend("django_pool.backends.pooled.django.db.backends.postgresql")
    assert stock.DatabaseWrapper is load_backend("django_pool.backends.postgresql").DatabaseWrapper


def test_explicit_use_of_an_unpoolable_engine_says_why():
    with pytest.raises(NotPoolable, match="dummy.base.DatabaseWrapper does not derive"):
        load_backend("django_pool.backends.pooled.django.db.backends.dummy")


def test_an_unpoolable_engine_in_the_settings_names_its_alias(monkeypatch):
    engine = "django_pool.backends.pooled.django.db.backends.dummy"
    monkeypatch.setitem(settings.DATABASES, "unpoolable", {"ENGINE": engine})
    with pytest.raises(NotPoolable) as info:
        load_backend(engine)
    assert str(info.value).startswith(
        f"settings.DATABASES['unpoolable']['ENGINE'] is '{engine}': "
    ), info.value


def test_pooled_wrapper_of_an_engine_path_says_what_it_takes():
    with pytest.raises(TypeError, match="takes a DatabaseWrapper class, not 'mydb.pg'"):
        pooled_wrapper("mydb.pg")


def test_own_creation_class_is_pooled_too():
    class Creation(pg_creation.DatabaseCreation):
        marker = True

    class Wrapper(custom.DatabaseWrapper):
        creation_class = Creation

    pooled = pooled_wrapper(Wrapper)
    assert issubclass(pooled.creation_class, PooledCreationMixin)
    assert issubclass(pooled.creation_class, Creation)
    # The stock creation class: the twin's pooled one.
    assert pooled_wrapper(custom.DatabaseWrapper).creation_class.__module__ == (
        "django_pool.backends.postgresql.creation"
    )


@pytest.mark.parametrize(
    ("engine", "package", "twin"),
    [
        ("dj_db_conn_pool.backends.postgresql", "django-db-connection-pool", "postgresql"),
        ("dj_db_conn_pool.backends.mysql", "django-db-connection-pool", "mysql"),
        ("django_postgrespool2", "django-postgrespool2", "postgresql"),
        ("django_db_geventpool.backends.postgis", "django-db-geventpool", "postgis"),
        ("dj_db_conn_pool.backends.jdbc.postgresql", "django-db-connection-pool", None),
    ],
)
def test_an_old_pooling_packages_engine_is_not_pooled_twice(monkeypatch, engine, package, twin):
    # A migration that adds "django_pool" to INSTALLED_APPS but keeps the old
    # ENGINE: pooled through django_pool.backends.pooled, each connection sat
    # in django-pool's pool and in the old package's, and the check was silent.
    from django_pool.checks import check_unpooled

    databases = {"x_old": {"ENGINE": engine}}
    assert activate(databases) == []
    assert databases["x_old"]["ENGINE"] == engine
    monkeypatch.setitem(settings.DATABASES, "x_old", databases["x_old"])
    said = [m for m in check_unpooled() if m.id == "django_pool.E004"]
    assert len(said) == 1
    assert said[0].msg.startswith(
        f"settings.DATABASES['x_old']['ENGINE'] is '{engine}', {package}'s, which pools "
    )
    if twin:
        assert f"to 'django_pool.backends.{twin}'" in said[0].hint
    else:  # JDBC: another driver and its own settings
        assert "django-pool has no twin for it" in said[0].hint
    # Kept knowingly: no error.
    monkeypatch.setitem(settings.DATABASES, "x_old", {"ENGINE": engine, "POOL": False})
    assert not [m for m in check_unpooled() if m.id == "django_pool.E004"]


@pytest.mark.parametrize(
    ("engine", "meant"),
    [
        ("django_pool.backends.postgres", "django_pool.backends.postgresql"),
        ("django_pool.backend.mysql", "django_pool.backends.mysql"),
        ("django_pool.backends.sqlite", "django_pool.backends.sqlite3"),
    ],
)
def test_a_misspelled_engine_names_its_alias_and_the_engine_meant(monkeypatch, engine, meant):
    # Django's own error named no database and listed Django's backends.
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setitem(settings.DATABASES, "typo", {"ENGINE": engine})
    with pytest.raises(ImproperlyConfigured) as info:
        load_backend(engine)
    assert str(info.value).startswith(
        f"settings.DATABASES['typo']['ENGINE'] is '{engine}', which django-pool does not "
        f"have. Did you mean '{meant}'?"
    ), info.value


def test_a_missing_module_no_engine_names_stays_an_import_error():
    with pytest.raises(ModuleNotFoundError):
        import django_pool.nonesuch  # noqa: F401


def test_looking_up_a_missing_module_before_settings_loads_no_settings(tmp_path):
    # The finder read settings.DATABASES: a lookup of any missing django_pool
    # module imported the settings module, and failed if it did not exist.
    code = (
        "import importlib.util, django_pool; "
        "print(importlib.util.find_spec('django_pool.contrib.nosuch'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "no_such_settings"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"


def test_w004_says_why_a_derived_engine_could_not_be_pooled(monkeypatch):
    # It derives from Django's PostgreSQL backend but cannot be combined with
    # the twin: W004 said it "derives from no backend it supports".
    from django_pool.checks import check_unpooled

    databases = {"x_final": {"ENGINE": "tests.activation.final_pg", "NAME": "x"}}
    activate(databases)
    assert settle(databases) == ["x_final"]
    monkeypatch.setitem(settings.DATABASES, "x_final", databases["x_final"])
    said = [m.msg for m in check_unpooled() if m.id == "django_pool.W004"]
    assert len(said) == 1
    assert "derives from no backend" not in said[0]
    assert "cannot be combined with" in said[0] and "this backend is final" in said[0]


def test_the_pooling_log_line_names_only_what_stays_pooled(monkeypatch, caplog):
    # It named a database whose ENGINE settle() then gave back, unpooled.
    import logging

    from django.apps import apps

    config = apps.get_app_config("django_pool")
    entry = {"ENGINE": "tests.activation.unpoolable", "NAME": "x"}
    pooled = {"ENGINE": "tests.activation.custom_pg", "NAME": "x"}
    monkeypatch.setitem(settings.DATABASES, "x_unpoolable", entry)
    monkeypatch.setitem(settings.DATABASES, "x_pooled", pooled)
    with caplog.at_level(logging.INFO, logger="django_pool"):
        switched = activate({"x_unpoolable": entry, "x_pooled": pooled})
        monkeypatch.setattr(config, "_switched", switched)
        config.ready()
    assert entry["ENGINE"] == "tests.activation.unpoolable"
    assert "django_pool: pooling 'x_pooled'" in caplog.text
    assert "'x_unpoolable'" not in caplog.text
