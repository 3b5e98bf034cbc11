"""Every key get_stats() documents is there, a counter that never moved included (as 0).

README and docs/observability.md list the keys as always present:
``stats["timeouts_num"]`` must not raise KeyError on a pool that never timed out.
"""

import pytest
from django.db import connections

import django_pool
from django_pool.stats import PoolStats
from tests.helpers import session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

COUNTERS = [
    value
    for name, value in vars(PoolStats).items()
    if name.isupper() and isinstance(value, str) and name != "DISTRIBUTIONS"
]
GAUGES = ["open", "in_use", "idle", "waiting", "pool_size", "max_overflow", "overflow"]


def test_the_documented_counters_are_the_stats_constants():
    assert sorted(COUNTERS) == sorted(
        [
            "connections_num",
            "connections_errors",
            "checkouts_num",
            "checkins_num",
            "invalidations_num",
            "disconnects_num",
            "pings_failed",
            "recycles_num",
            "timeouts_num",
            "leaks_num",
        ]
    )


def test_every_counter_key_is_always_present(vendor, configure_pool):
    configure_pool(vendor, pool_size=2, max_overflow=0)
    session_id(vendor)
    connections[vendor].close()
    for stats in (django_pool.get_stats(vendor)[vendor], django_pool.pop_stats(vendor)[vendor]):
        missing = [key for key in [*COUNTERS, *GAUGES] if key not in stats]
        assert missing == [], f"absent although documented as always present: {missing}"
        assert stats["timeouts_num"] == 0 and stats["leaks_num"] == 0
        assert isinstance(stats["invalidations_by_reason"], dict)
        for name in PoolStats.DISTRIBUTIONS:
            assert set(stats[f"{name}_seconds"]) >= {"count", "sum", "max", "buckets"}
    # After pop_stats(), the counters restart from zero and are still there.
    after = django_pool.get_stats(vendor)[vendor]
    assert all(after[key] == 0 for key in COUNTERS)
