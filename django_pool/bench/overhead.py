"""What the stats cost: checkout+checkin on one pool with stats on, and with them off."""

from __future__ import annotations

import sqlite3
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

from django_pool.config import PoolOptions
from django_pool.driver import Driver
from django_pool.pool import DatabasePool
from django_pool.stats import PoolStats

__all__ = ["measure_signal_cost", "measure_stats_cost"]


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
    def creator(seconds_left: float) -> tuple[Any, None]:
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False), None

    holder = weakref.ref(creator)  # whoever borrows: alive for the whole measure

    pools = {"on": _pool(PoolStats(), path), "off": _pool(_NoStats(), path)}
    timings: dict[str, list[float]] = {"on": [], "off": []}
    for r in range(rounds):
        for name in ("on", "off") if r % 2 == 0 else ("off", "on"):
            pool = pools[name]
            started = time.perf_counter()
            for _ in range(n):
                pool.checkin(pool.checkout(creator, holder), discard=None, idle=True)
            timings[name].append((time.perf_counter() - started) / n * 1e6)
    for pool in pools.values():
        pool.retire()  # close the idle connection before the directory goes
    on, off = min(timings["on"]), min(timings["off"])
    # What the fastest rounds of the same code differ by: below that, no difference is seen.
    noise = sorted(timings["off"])[len(timings["off"]) // 4] / off - 1
    return {"stats_on_us": on, "stats_off_us": off, "difference": on / off - 1, "noise": noise}


def measure_signal_cost(rounds: int = 21, n: int = 5000) -> dict[str, float]:
    """Return what django_pool.signals cost a checkout+checkin on a bare pool.

    ``guard_opcodes``: the bytecode instructions the two guards add to a cycle
    with no receiver connected, next to ``cycle_opcodes``, all instructions of
    the cycle (counted with ``sys.settrace``). ``no_receiver_us`` and
    ``noop_receiver_us``: µs per cycle without and with a receiver that does
    nothing on checkout and checkin (fastest of *rounds* interleaved rounds).
    """
    import sys

    from django_pool import signals

    path = str(Path(tempfile.mkdtemp(prefix="django_pool_signals_")) / "x.sqlite3")

    def creator(seconds_left: float) -> tuple[Any, None]:
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False), None

    holder = weakref.ref(creator)  # whoever borrows: alive for the whole measure
    pool = _pool(PoolStats(), path)
    pool.checkin(pool.checkout(creator, holder), discard=None, idle=True)  # opened once

    def opcodes(call) -> int:
        # The most of three runs: Python 3.12 misses a frame's first opcodes
        # the first time it traces a function.
        counts = []
        for _ in range(3):
            counted = [0]

            def trace(frame, event, arg, counted=counted):
                frame.f_trace_opcodes = True
                if event == "opcode":
                    counted[0] += 1
                return trace

            sys.settrace(trace)
            try:
                call()
            finally:
                sys.settrace(None)
            counts.append(counted[0])
        return max(counts)

    def guard() -> None:
        if signals.connection_checked_out.receivers:
            pass

    def empty() -> None:
        pass

    cycle = opcodes(lambda: pool.checkin(pool.checkout(creator, holder), discard=None, idle=True))
    # A cycle runs two guards (checked_out, checked_in); the rare paths' guards
    # (opened, discarded) do not run on a reused, clean connection.
    guard_opcodes = 2 * (opcodes(guard) - opcodes(empty))

    def receiver(**kwargs):
        pass

    timings: dict[str, list[float]] = {"off": [], "on": []}
    for r in range(rounds):
        for name in ("off", "on") if r % 2 == 0 else ("on", "off"):
            if name == "on":
                signals.connection_checked_out.connect(receiver)
                signals.connection_checked_in.connect(receiver)
            started = time.perf_counter()
            for _ in range(n):
                pool.checkin(pool.checkout(creator, holder), discard=None, idle=True)
            timings[name].append((time.perf_counter() - started) / n * 1e6)
            signals.connection_checked_out.disconnect(receiver)
            signals.connection_checked_in.disconnect(receiver)
    pool.retire()
    return {
        "cycle_opcodes": cycle,
        "guard_opcodes": guard_opcodes,
        "no_receiver_us": min(timings["off"]),
        "noop_receiver_us": min(timings["on"]),
    }
