"""Where Django's own rules meet the pool: found by running Django's test suite.

Each test here failed before its fix; docs/conformance.md names the Django
test that found it.
"""

from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

import django_pool
from tests.helpers import session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def stats(alias):
    return django_pool.get_stats(alias)[alias]


@pytest.fixture
def live_settings(monkeypatch):
    """Return ``set(alias, key, value)``, which edits a live connection's settings."""

    def set_(alias, key, value):
        monkeypatch.setitem(connections[alias].settings_dict, key, value)

    return set_


def test_conn_max_age_none_on_a_live_connection_keeps_its_checkout(vendor, live_settings):
    # backends.base.test_base.ConnectionHealthChecksTests,
    # servers.tests.LiveServerTestCloseConnectionTest
    connection = connections[vendor]
    connection.close()
    live_settings(vendor, "CONN_MAX_AGE", None)
    connection.ensure_connection()
    raw = connection.connection
    connection.close_if_unusable_or_obsolete()  # request_finished
    assert connection.connection is raw
    assert stats(vendor)["in_use"] == 1
    connection.close()
    assert stats(vendor)["in_use"] == 0


def test_a_copy_is_checked_against_the_settings_it_was_built_from(vendor, live_settings):
    live_settings(vendor, "CONN_MAX_AGE", None)
    twin = connections[vendor].copy()
    try:
        twin.ensure_connection()
    finally:
        twin.close()
    configured_badly = type(twin)({**twin.settings_dict, "CONN_MAX_AGE": 60}, vendor)
    with pytest.raises(ImproperlyConfigured, match=r"\['CONN_MAX_AGE'\] is 60"):
        configured_badly.ensure_connection()


def test_a_connection_that_fails_djangos_health_check_is_discarded(vendor, live_settings):
    # ConnectionHealthChecksTests.test_health_checks_enabled: Django closes
    # it and expects a new connection; checking it in handed the same one back.
    connection = connections[vendor]
    connection.close()
    live_settings(vendor, "CONN_MAX_AGE", None)
    live_settings(vendor, "CONN_HEALTH_CHECKS", True)
    before = session_id(vendor)
    held = connection.connection  # so that SQLite's id() is not reused
    connection.close_if_unusable_or_obsolete()  # request_finished: health check due
    with mock.patch.object(connection, "is_usable", return_value=False):
        after = session_id(vendor)
    assert after != before
    assert connection.connection is not held
    assert stats(vendor)["invalidations_by_reason"] == {"unusable": 1}


def test_a_connection_found_unusable_after_an_error_is_discarded(vendor):
    # The same judgement at the end of a request with CONN_MAX_AGE = 0.
    connection = connections[vendor]
    before = session_id(vendor)
    held = connection.connection  # so that SQLite's id() is not reused
    connection.errors_occurred = True
    with mock.patch.object(connection, "is_usable", return_value=False):
        connection.close_if_unusable_or_obsolete()
    assert stats(vendor)["invalidations_by_reason"] == {"unusable": 1}
    assert session_id(vendor) != before
    assert connection.connection is not held


def test_a_usable_connection_goes_back_after_an_error(vendor):
    connection = connections[vendor]
    before = session_id(vendor)
    connection.errors_occurred = True
    connection.close_if_unusable_or_obsolete()
    assert stats(vendor)["invalidations_by_reason"] == {}
    assert session_id(vendor) == before


def test_the_native_pool_turned_on_at_runtime_is_djangos(server_vendor):
    # backends.postgresql.tests.Tests.test_connect_pool*: a connection whose
    # OPTIONS["pool"] is switched on in code behaves as with the stock ENGINE.
    connection = connections[server_vendor]
    if connection.vendor != "postgresql":
        pytest.skip("Django's native pool is PostgreSQL's")
    twin = connection.copy("native_pool")
    twin.settings_dict["OPTIONS"] = {**twin.settings_dict["OPTIONS"], "pool": True}
    from django.db.backends.postgresql.base import is_psycopg3

    if not is_psycopg3:
        with pytest.raises(ImproperlyConfigured, match="Database pooling requires psycopg >= 3"):
            twin.ensure_connection()
        return
    try:
        twin.ensure_connection()
        assert twin.pool.get_stats()["requests_num"] == 1
        assert "native_pool" not in django_pool.get_stats()
    finally:
        twin.close()
        twin.close_pool()


def test_the_native_pool_in_settings_is_still_refused(vendor):
    connection = connections[vendor]
    built_with_it = type(connection)(
        {**connection.settings_dict, "OPTIONS": {"pool": True}}, vendor
    )
    with pytest.raises(ImproperlyConfigured, match=r"\['OPTIONS'\]\['pool'\] is Django's own"):
        built_with_it.ensure_connection()


def test_a_checkout_sets_the_wrappers_time_zone_name(vendor):
    # backends.postgresql.tests.Tests.test_connect_and_rollback deletes it
    # after connecting; skipping the setup of an initialized connection left
    # it unset.
    connections[vendor].ensure_connection()
    connections[vendor].close()
    twin = connections[vendor].copy()
    try:
        twin.ensure_connection()
        assert "timezone_name" in vars(twin)
    finally:
        twin.close()


def test_a_connection_set_up_for_another_time_zone_is_set_up_again(server_vendor):
    connection = connections[server_vendor]
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL keeps Django's time zone in the session")
    own = session_id(server_vendor)
    connection.close()
    twin = connection.copy()
    twin.timezone_name = "Africa/Nairobi"
    try:
        with twin.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), current_setting('TimeZone')")
            assert cursor.fetchone() == (own, "Africa/Nairobi")
    finally:
        twin.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_setting('TimeZone')")
        assert cursor.fetchone() == (own, connection.timezone_name)


def test_a_connection_closed_while_idle_is_never_lent(vendor):
    # backends.sqlite.tests.ThreadSharing closes the raw connection of a
    # thread that ended; the thread's connection had gone back to the pool,
    # and the next borrower got a closed one (pre-ping is off by default).
    connection = connections[vendor]
    connection.ensure_connection()
    raw = connection.connection
    connection.close()
    raw.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert connection.connection is not raw
    assert stats(vendor)["invalidations_by_reason"] == {"closed": 1}
