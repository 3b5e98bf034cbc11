"""POOL validation: every bad value is an ImproperlyConfigured naming alias and key."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from sqlalchemy.pool import QueuePool

from django_pool.config import PoolOptions
from tests import helpers


def options(pool):
    return PoolOptions.from_settings("default", {"POOL": pool})


def test_defaults():
    opts = options(None)
    assert (opts.pool_class, opts.pool_size, opts.max_overflow) == ("queue", 5, 10)
    assert (opts.timeout, opts.recycle, opts.pre_ping) == (30.0, 3600.0, None)
    assert opts.reset_on_return == "rollback"
    assert opts.release == "request"


def test_keys_are_case_insensitive():
    opts = options({"POOL_SIZE": 3, "Max_Overflow": 0})
    assert (opts.pool_size, opts.max_overflow) == (3, 0)


def test_unknown_key_names_alias_key_and_suggests():
    with pytest.raises(ImproperlyConfigured) as info:
        options({"pool_sise": 3})
    message = str(info.value)
    assert "settings.DATABASES['default']['POOL']" in message
    assert "'pool_sise'" in message
    assert "Did you mean 'pool_size'?" in message
    assert "Valid options are: pool_class, pool_size" in message


def test_every_mistake_of_a_pool_setting_in_one_error():
    # Fixing them one run at a time (one manage.py check per key) was slow.
    with pytest.raises(ImproperlyConfigured) as info:
        options({"pool_sise": 3, "timeout": -1, "release": "transactions"})
    message = str(info.value)
    assert "Did you mean 'pool_size'?" in message
    assert "['timeout'] is improperly configured to -1" in message
    assert "['release'] is improperly configured to 'transactions'" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("pool_size", 0, "['pool_size'] is improperly configured to 0. Use a whole number of 1"),
        ("pool_size", -2, "Use a whole number of 1 or more"),
        ("pool_size", "5", "['pool_size'] must be a whole number, not '5'"),
        ("pool_size", True, "must be a whole number, not True"),
        ("max_overflow", -1, "['max_overflow'] is improperly configured to -1. Use a whole"),
        ("timeout", 0, "['timeout'] is improperly configured to 0. Use a finite number"),
        ("timeout", None, "['timeout'] must be a number of seconds, not None"),
        ("timeout", float("inf"), "Use a finite number of seconds"),
        ("recycle", "1h", "['recycle'] must be a number of seconds, or None (or -1) for never"),
        ("recycle", -5, "greater than 0, or None (or -1) for never."),
        ("leak_threshold", 0, "greater than 0, or None for off."),
        ("pre_ping", "yes", "['pre_ping'] must be True, False or None"),
        ("reset_on_return", "drop", "['reset_on_return'] is improperly configured to 'drop'"),
        ("pool_class", "nosuch.Pool", "['pool_class'] is improperly configured to 'nosuch.Pool'"),
        ("pool_class", "collections.OrderedDict", "not a sqlalchemy.pool.Pool subclass"),
        ("pool_class", 3, "['pool_class'] must be one of 'queue'"),
        ("release", "statement", "['release'] is improperly configured to 'statement'. Use"),
        ("release", True, "Use 'request' or 'transaction'"),
    ],
)
def test_bad_values_are_named(key, value, expected):
    with pytest.raises(ImproperlyConfigured) as info:
        options({key: value})
    assert "settings.DATABASES['default']['POOL']" in str(info.value)
    assert expected in str(info.value)


def test_options_the_pool_class_ignores_are_errors():
    with pytest.raises(
        ImproperlyConfigured, match=r"\['max_overflow'\] has no effect with pool_class 'null'"
    ):
        options({"pool_class": "null", "max_overflow": 3})


def test_pool_class_by_name_path_or_class():
    assert options({"pool_class": "LIFO"}).sqlalchemy_pool_arguments()[1]["use_lifo"] is True
    assert options({"pool_class": "sqlalchemy.pool.QueuePool"}).sqlalchemy_class() is QueuePool
    assert options({"pool_class": QueuePool}).sqlalchemy_class() is QueuePool


def test_recycle_never():
    assert options({"recycle": None}).recycle is None
    assert options({"recycle": -1}).recycle is None


def test_pool_must_be_a_dict():
    with pytest.raises(ImproperlyConfigured, match="must be a dict of pool options, not list"):
        options([("pool_size", 1)])
    # Empty or zero is no dict either: it was taken for "defaults".
    for empty in (0, [], "", ()):
        with pytest.raises(ImproperlyConfigured, match="must be a dict of pool options"):
            options(empty)
    assert options({}) == options(None)


def sqlite_wrapper(**settings):
    return helpers.sqlite_wrapper("/tmp/django_pool_config.sqlite3", "config", **settings)


def test_misconfigured_alias_fails_when_first_used(django_db_blocker):
    # Not when the wrapper is built: Django's own checks build it, and
    # manage.py check --database must report E003, not raise it.
    wrapper = sqlite_wrapper(POOL={"size": 3})
    with django_db_blocker.unblock(), pytest.raises(ImproperlyConfigured) as info:
        wrapper.ensure_connection()
    assert "settings.DATABASES['config']['POOL']" in str(info.value)


def test_conn_max_age_must_be_zero(django_db_blocker):
    wrapper = sqlite_wrapper(CONN_MAX_AGE=60)
    with django_db_blocker.unblock(), pytest.raises(ImproperlyConfigured) as info:
        wrapper.ensure_connection()
    assert "settings.DATABASES['config']['CONN_MAX_AGE'] is 60" in str(info.value)
    assert "Set it to 0" in str(info.value)
    assert wrapper.connection is None


def test_django_native_pool_option_is_refused(django_db_blocker):
    wrapper = sqlite_wrapper(OPTIONS={"pool": True})
    with django_db_blocker.unblock(), pytest.raises(ImproperlyConfigured) as info:
        wrapper.ensure_connection()
    assert "settings.DATABASES['config']['OPTIONS']['pool']" in str(info.value)
    assert "Remove it and put the pool options in" in str(info.value)


def test_one_option_spelt_twice_is_an_error():
    # Keys are case-insensitive: which spelling won depended on the dict's order.
    with pytest.raises(ImproperlyConfigured, match="has both 'Pool_Size' and 'pool_size'"):
        options({"Pool_Size": 3, "pool_size": 4})


def test_pre_ping_idle_says_zero_is_allowed():
    assert options({"pre_ping_idle": 0}).pre_ping_idle == 0
    with pytest.raises(ImproperlyConfigured, match=r"Use 0 \(every checkout\) or a finite"):
        options({"pre_ping_idle": -1})
    with pytest.raises(ImproperlyConfigured, match="must be a number of seconds"):
        options({"pre_ping_idle": "1"})


def test_a_misspelt_pool_class_gets_a_did_you_mean():
    with pytest.raises(ImproperlyConfigured, match="'qeue'. Did you mean 'queue'?"):
        options({"pool_class": "qeue"})


def test_an_asyncio_pool_class_is_refused_before_the_first_query():
    with pytest.raises(ImproperlyConfigured, match="an asyncio pool"):
        options({"pool_class": "sqlalchemy.pool.AsyncAdaptedQueuePool"})


def test_database_pool_class_errors_name_the_setting_itself(settings):
    settings.DATABASE_POOL_CLASS = "nope.Pool"
    with pytest.raises(ImproperlyConfigured) as info:
        options(None)
    assert str(info.value).startswith(
        "Database 'default': settings.DATABASE_POOL_CLASS is improperly configured"
    )


@pytest.mark.parametrize(
    ("key", "meant"), [("pool", "POOL"), ("POOLS", "POOL"), ("Pool_Option", "POOL_OPTIONS")]
)
def test_a_misspelled_pool_key_is_refused(key, meant):
    # Django ignores keys it does not know: the defaults were used, silently.
    with pytest.raises(
        ImproperlyConfigured,
        match=f"has the key '{key}', which nothing reads: did you mean '{meant}'",
    ):
        PoolOptions.from_settings("config", {key: {"pool_size": 2}})
    PoolOptions.from_settings("config", {"SPOOL_NOTES": "a key of the project's own"})


def test_a_pool_option_at_the_top_of_the_entry_is_refused():
    with pytest.raises(
        ImproperlyConfigured,
        match=r"has the key 'POOL_SIZE', which nothing "
        r"reads: pool options go inside settings.DATABASES\['config'\]\['POOL'\]",
    ):
        PoolOptions.from_settings("config", {"POOL_SIZE": 5})


@pytest.mark.parametrize("key", ["pool_class", "reset_session"])
@pytest.mark.parametrize("path", [".", "/.", "..x"])
def test_a_dotted_path_that_is_no_path_is_a_settings_error(key, path):
    # import_string raised ValueError ("Empty module name"), not ImportError:
    # a traceback from deep in importlib (found by test_property.py).
    with pytest.raises(ImproperlyConfigured, match=rf"\['POOL'\]\['{key}'\]"):
        options = PoolOptions.from_settings("config", {"POOL": {key: path}})
        options.sqlalchemy_class()


def test_every_option_has_a_validator():
    # A field without one is accepted as a key, then parsing fails with KeyError.
    from dataclasses import fields

    from django_pool.config import _VALIDATORS

    assert set(_VALIDATORS) == {field.name for field in fields(PoolOptions)}
