"""Any POOL dict either builds a working pool or raises ImproperlyConfigured: nothing else."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given, settings
from hypothesis import strategies as st

import django_pool
from django_pool.config import PoolOptions
from tests.helpers import sqlite_wrapper

KEYS = [
    "pool_class",
    "pool_size",
    "max_overflow",
    "timeout",
    "recycle",
    "pre_ping",
    "pre_ping_idle",
    "recycle_jitter",
    "reset_on_return",
    "reset_session",
    "release",
]
VALUES = st.one_of(
    st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=6),
    st.sampled_from(
        [
            "queue",
            "lifo",
            "null",
            "static",
            "singleton_thread",
            "assertion",
            "rollback",
            "commit",
            "request",
            "transaction",
            "sqlalchemy.pool.QueuePool",
            "os.path.join",
        ]
    ),
    st.lists(st.integers(), max_size=2),
)
KEY_NAMES = st.one_of(
    st.sampled_from(KEYS),
    st.sampled_from(KEYS).map(str.upper),
    st.text(min_size=1, max_size=12),
)


@settings(max_examples=200, deadline=None)
@given(pool=st.dictionaries(KEY_NAMES, VALUES, max_size=4))
def test_random_pool_settings(pool, tmp_path_factory, django_db_blocker):
    name = str(tmp_path_factory.getbasetemp() / "property.sqlite3")
    wrapper = sqlite_wrapper(name, "prop", POOL=pool)
    try:
        with django_db_blocker.unblock():
            try:
                wrapper.ensure_connection()  # validates POOL
            except ImproperlyConfigured as err:
                assert "settings.DATABASES['prop']['POOL']" in str(err)
                return
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT 1")
                assert cursor.fetchone() == (1,)
            wrapper.close()
    finally:
        django_pool.dispose("prop")


@pytest.mark.parametrize("value", [float("nan"), float("-inf"), -0.5])
def test_non_finite_and_negative_seconds(value):
    with pytest.raises(ImproperlyConfigured):
        PoolOptions.from_settings("prop", {"POOL": {"timeout": value}})
