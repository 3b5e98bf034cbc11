"""Every key get_stats() documents is there, a counter that never moved included (as 0).

README and docs/observability.md list the keys as always present:
``stats["timeouts_num"]`` must not raise KeyError on a pool that never timed out.
"""

from collections import deque

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
            "checkout_errors_num",
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


def test_an_alias_without_a_pool_yet_reports_the_same_keys_at_zero(vendor, configure_pool):
    # A fresh worker's health endpoint, or the first scrape after dispose():
    # get_stats("default")["default"] used to raise KeyError until a query ran.
    configure_pool(vendor, pool_size=2, max_overflow=0)
    django_pool.dispose(vendor)
    before = django_pool.get_stats(vendor)[vendor]
    assert django_pool.pop_stats(vendor)[vendor] == before
    assert before["open"] == before["in_use"] == before["checkouts_num"] == 0
    assert before["pool_size"] == 2 and before["max_overflow"] == 0
    session_id(vendor)
    connections[vendor].close()
    after = django_pool.get_stats(vendor)[vendor]
    assert set(after) == set(before)  # the same keys as a live pool's
    assert after["checkouts_num"] == 1


def test_stats_of_an_unknown_or_unpooled_alias(vendor, configure_pool):
    from django.utils.connection import ConnectionDoesNotExist

    with pytest.raises(ConnectionDoesNotExist):
        django_pool.get_stats("no_such_alias")
    configure_pool(vendor, pool_size=2, max_overflow=0)
    connections[vendor].settings_dict["POOL"] = False
    assert django_pool.get_stats(vendor) == {}


class _FoldsWhenCounted(deque):
    """A pending-durations queue whose length is read while another thread folds it.

    The fold runs between the gauge's read of the folded total and its read of
    the queue, the interleaving a reader racing a fold can meet. It only runs
    if the stats lock is free: a reader holding it is never interleaved with.
    """

    def __init__(self, stats, items):
        super().__init__(items)
        self.stats = stats

    def __len__(self):
        stats, self.stats = self.stats, None  # once
        if stats is not None and stats._lock.acquire(blocking=False):
            try:
                stats._fold()
            finally:
                stats._lock.release()
        return super().__len__()


def test_in_use_is_read_consistently_while_a_fold_runs():
    stats = PoolStats()
    for _ in range(5):
        stats.checked_out(0.0)
    stats.checked_in(0.0)
    stats._pending_waits = _FoldsWhenCounted(stats, stats._pending_waits)
    assert stats.in_use == 4  # 5 lent, 1 returned (read across the fold: -1)
