"""What the stats cost: checkout+checkin on one pool with stats on, and with them off."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from django_pool.config import PoolOptions
from django_pool.driver import Driver
from django_pool.pool import DatabasePool
from django_pool.stats import PoolStats

__all__ = ["measure_stats_cost"]


class _NoStats(PoolStats):
    """Stats off: every hook does nothing."""

    def bump(self, key, n=1):
        pass

    def invalidated(self, reason):
        pass

    def observe(self, name, seconds):
        pass

    def checked_out(self, waited):
        pass

    def checked_in(self, held):
        pass


class _SQLite(Driver):
    name = "sqlite3"

    def in_transaction(self, connection):
        return connection.in_transaction

    def autocommit(self, connection):
        return connection.isolation_level is None

    def set_autocommit(self, connection, value):
        connection.isolation_level = None if value else ""


def _pool(stats: PoolStats, path: str) -> DatabasePool:
    return DatabasePool(
        alias="bench",
        database=path,
        options=PoolOptions(pool_size=1, max_overflow=0),
        driver=_SQLite(),
        autocommit=True,
        pre_ping=False,
        stats=stats,
    )


def measure_stats_cost(rounds: int = 21, n: int = 5000) -> dict[str, float]:
    """Return µs per checkout+checkin with stats on and off, and the difference.

    Each figure is the fastest of *rounds* interleaved rounds: on a busy
    machine the minimum is the steadiest estimate of a cost this small.
    """
    with tempfile.TemporaryDirectory(prefix="django_pool_overhead_") as directory:
        return _measure(str(Path(directory) / "x.sqlite3"), rounds, n)


def _measure(path: str, rounds: int, n: int) -> dict[str, float]:
    def creator():
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    pools = {"on": _pool(PoolStats(), path), "off": _pool(_NoStats(), path)}
    timings: dict[str, list[float]] = {"on": [], "off": []}
    for r in range(rounds):
        for name in ("on", "off") if r % 2 == 0 else ("off", "on"):
            pool = pools[name]
            started = time.perf_counter()
            for _ in range(n):
                pool.checkin(pool.checkout(creator), discard=None, idle=True)
            timings[name].append((time.perf_counter() - started) / n * 1e6)
    for pool in pools.values():
        pool.retire()  # close the idle connection before the directory goes
    on, off = min(timings["on"]), min(timings["off"])
    # What the fastest rounds of the same code differ by: below that, no difference is seen.
    noise = sorted(timings["off"])[len(timings["off"]) // 4] / off - 1
    return {"stats_on_us": on, "stats_off_us": off, "difference": on / off - 1, "noise": noise}
