"""A setting's value the driver cannot use fails at once, naming the database and the setting.

Drivers raise TypeError, ValueError or AttributeError for such values (an
unknown keyword in OPTIONS, ``connect_timeout="abc"``, PyMySQL's unknown
charset), from deep inside the library and without saying which database;
Django's own ImproperlyConfigured (an unknown isolation level) does not say
either.
"""

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.utils import load_backend

import django_pool

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

# (setting, value, what the message names), per vendor.
MISTAKES = {
    "sqlite": [
        ("OPTIONS", {"timeout": "abc"}, "OPTIONS: timeout"),
        ("OPTIONS", {"no_such_option": 1}, "OPTIONS: no_such_option"),
    ],
    "mysql": [
        ("OPTIONS", {"connect_timeout": "abc"}, "OPTIONS: connect_timeout"),
        ("OPTIONS", {"no_such_option": 1}, "OPTIONS: no_such_option"),
        ("PORT", "abc", "PORT"),
    ],
    "postgresql": [("OPTIONS", {"isolation_level": "dirty"}, "isolation level dirty")],
}


def mistaken(vendor, setting, value):
    """A wrapper for *vendor* whose *setting* holds *value*, with a password to keep secret."""
    settings = {**connections.settings[vendor], "PASSWORD": "hunter2-secret"}
    settings["POOL"] = {"timeout": 20}  # a retry would wait this long
    if setting == "OPTIONS":
        settings["OPTIONS"] = {**settings.get("OPTIONS", {}), **value}
    else:
        settings[setting] = value
    return load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias="mistaken")


def test_a_value_the_driver_cannot_use(vendor, django_db_blocker):
    mistakes = MISTAKES[connections[vendor].vendor]
    if connections[vendor].Database.__name__ == "pymysql":
        # mysqlclient says "Can't initialize character set" (2019, an
        # OperationalError: test_lifetimes.py); PyMySQL, an AttributeError.
        mistakes = [*mistakes, ("OPTIONS", {"charset": "nonesuch"}, "OPTIONS: charset")]
    for setting, value, named in mistakes:
        wrapper = mistaken(vendor, setting, value)
        started = time.monotonic()
        with django_db_blocker.unblock(), pytest.raises(ImproperlyConfigured) as info:
            wrapper.ensure_connection()
        assert time.monotonic() - started < 2  # not tried again until the timeout
        message = str(info.value)
        assert message.startswith("database 'mistaken': "), message
        assert named in message, message
        assert "hunter2-secret" not in message
        # Nothing held: every place of the pool is free.
        [pool] = django_pool.registry.pools("mistaken")
        assert pool._gate is None or pool._gate.free == pool._gate.capacity
        assert pool.status()["in_use"] == 0
        django_pool.dispose("mistaken")


def test_a_bug_in_a_backends_setup_is_not_called_a_setting(tmp_path, django_db_blocker):
    # Only what the driver or Django's backends raise is a refused value: a
    # KeyError in a project's own get_new_connection stays a KeyError.
    settings = {
        "ENGINE": "django_pool.backends.pooled.tests.testapp.buggy_backend",
        "NAME": str(tmp_path / "buggy.sqlite3"),
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "OPTIONS": {},
        "TIME_ZONE": None,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "TEST": {},
    }
    wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias="buggy")
    with django_db_blocker.unblock(), pytest.raises(KeyError, match="worker"):
        wrapper.ensure_connection()
    django_pool.dispose("buggy")
