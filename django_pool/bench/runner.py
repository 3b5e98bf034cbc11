"""Run the workloads for every variant, interleaved, and collect the numbers."""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from django.db import connections

from . import workloads
from .targets import Variant

__all__ = ["Progress", "measure_round_trips", "measure_sequential", "measure_threads"]


class Progress:
    """One status line on stderr, rewritten in place on a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.tty = sys.stderr.isatty()

    def step(self, text: str) -> None:
        """Count one step and show *text*."""
        self.done += 1
        line = f"[{self.done}/{self.total}] {text}"
        if self.tty:
            sys.stderr.write(f"\r\033[K{line}")
        elif self.done == 1 or self.done % 10 == 0 or self.done == self.total:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def finish(self) -> None:
        """Leave the status line."""
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


Send = Callable[[Callable[[str], None], str], None]


def _sender(variant: Variant) -> Send:
    # How the variant's requests are run: in turn at its fair gate, if it has one.
    return workloads.in_turn(variant.gate) if variant.gate else workloads.request


def _batch(
    send: Send, work: Callable[[str], None], alias: str, seconds: float
) -> tuple[float, float]:
    """Run requests for about *seconds*; return (wall, cpu) microseconds per request."""
    n = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while True:
        send(work, alias)
        n += 1
        if n >= 5 and time.perf_counter() - wall0 >= seconds:
            break
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return wall / n * 1e6, cpu / n * 1e6


def measure_sequential(
    variants: list[Variant], names: list[str], rounds: int, seconds: float, progress: Progress
) -> dict[str, dict[str, dict[str, Any]]]:
    """Time each workload for each variant, rounds interleaved (A B C, B C A, ...).

    Return ``{workload: {alias: {"wall_us": [...], "cpu_us": [...]}}}``.
    """
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for name in names:
        label, work = workloads.WORKLOADS[name]
        per_variant: dict[str, dict[str, list[float]]] = {
            v.alias: {"wall_us": [], "cpu_us": []} for v in variants
        }
        senders = {v.alias: _sender(v) for v in variants}
        for variant in variants:  # warm up: pools built, connections opened
            for _ in range(3):
                senders[variant.alias](work, variant.alias)
        for r in range(rounds):
            order = variants[r % len(variants) :] + variants[: r % len(variants)]
            for variant in order:
                progress.step(f"{label} · {variant.label} · round {r + 1}/{rounds}")
                wall, cpu = _batch(senders[variant.alias], work, variant.alias, seconds)
                per_variant[variant.alias]["wall_us"].append(wall)
                per_variant[variant.alias]["cpu_us"].append(cpu)
        results[name] = per_variant
    return results


def measure_threads(
    variants: list[Variant],
    threads: int,
    seconds: float,
    rounds: int,
    sessions: Callable[[], int | None],
    progress: Progress,
    work: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run *threads* threads of requests per variant, rounds interleaved.

    Each request runs *work* (default: one query).

    *sessions()* returns the server's count of sessions on the database (None
    where there is no server). Return per-variant throughput, latency
    percentiles, threads that completed nothing, the most sessions seen, and
    this process's context switches and CPU time (user and system) per
    request (None where the operating system does not count them). Under the
    GIL the CPU time says what the requests cost the client, the switches
    what they cost in hand-overs.
    """
    latencies: dict[str, list[float]] = {v.alias: [] for v in variants}
    idle: dict[str, int] = dict.fromkeys(latencies, 0)
    served: dict[str, int] = dict.fromkeys(latencies, 0)
    peak: dict[str, int | None] = dict.fromkeys(latencies)
    # (context switches, requests completed, CPU seconds) over the timed
    # windows; None: not counted.
    switches: dict[str, tuple[int, int, float] | None] = dict.fromkeys(latencies, (0, 0, 0.0))
    # Nothing left open by earlier phases may count as this phase's sessions.
    _release_everything()
    for r in range(rounds):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        for variant in order:
            progress.step(f"{threads} threads · {variant.label} · round {r + 1}/{rounds}")
            baseline = _settled(sessions)
            per_thread, most, window = _run_threads(
                variant, threads, seconds, sessions, work or workloads.one_query
            )
            counted = switches[variant.alias]
            switches[variant.alias] = (
                None
                if counted is None or window is None
                else (counted[0] + window[0], counted[1] + window[1], counted[2] + window[2])
            )
            for lat in per_thread:
                latencies[variant.alias] += lat
                served[variant.alias] += len(lat)
                idle[variant.alias] += not lat
            if most is not None:
                seen = max(0, most - (baseline or 0))
                peak[variant.alias] = max(peak[variant.alias] or 0, seen)
            _release_everything()
    results = {}
    for alias, lat in latencies.items():
        lat.sort()
        window = switches[alias]
        results[alias] = {
            "requests_per_s": served[alias] / (seconds * rounds),
            "p50_ms": _percentile(lat, 50) * 1e3,
            "p99_ms": _percentile(lat, 99) * 1e3,
            "max_ms": (lat[-1] if lat else 0.0) * 1e3,
            "idle_threads": idle[alias] / rounds,
            "server_connections": peak[alias],
            "switches_per_request": None if not window or not window[1] else window[0] / window[1],
            "cpu_us_per_request": (
                None if not window or not window[1] else window[2] / window[1] * 1e6
            ),
        }
    return results


def _run_threads(variant, threads, seconds, sessions, work):
    alias, send = variant.alias, _sender(variant)
    stop = threading.Event()
    barrier = threading.Barrier(threads + 1)
    per_thread: list[list[float]] = [[] for _ in range(threads)]

    def worker(i: int) -> None:
        lat = per_thread[i]
        barrier.wait()
        try:
            while not stop.is_set():
                t0 = time.perf_counter()
                send(work, alias)
                lat.append(time.perf_counter() - t0)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    switched = _usage()
    done = sum(map(len, per_thread))
    deadline = time.perf_counter() + seconds
    most = None
    while time.perf_counter() < deadline:
        count = sessions()
        if count is not None:
            most = max(most or 0, count)
        time.sleep(0.005)
    end = _usage()
    window = (
        None
        if end is None or switched is None
        else (end[0] - switched[0], sum(map(len, per_thread)) - done, end[1] - switched[1])
    )
    stop.set()
    for thread in pool:
        thread.join()
    return per_thread, most, window


def _usage() -> tuple[int, float] | None:
    # This process's context switches so far, voluntary (waiting: for a
    # connection, the server, the GIL) and not, and its CPU seconds, user
    # and system; None where not counted.
    try:
        import resource
    except ImportError:  # Windows
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw + usage.ru_nivcsw, usage.ru_utime + usage.ru_stime


def _settled(sessions: Callable[[], int | None]) -> int | None:
    """Wait for the previous variant's sessions to end; return the count then.

    Settled means zero, or no change for 0.1 s (other clients may use the
    database), or 2 s passed.
    """
    deadline = time.monotonic() + 2
    count = sessions()
    steady_since = time.monotonic()
    while count and time.monotonic() < deadline:
        time.sleep(0.02)
        previous, count = count, sessions()
        if count != previous:
            steady_since = time.monotonic()
        elif time.monotonic() - steady_since >= 0.1:
            break
    return count


def _release_everything() -> None:
    """Close every connection and pool this process holds, native pools included."""
    import django_pool

    connections.close_all()
    django_pool.dispose()
    for connection in connections.all():
        if connection.settings_dict.get("OPTIONS", {}).get("pool"):
            cast(Any, connection).close_pool()  # Django's PostgreSQL wrapper only


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    index = min(len(values) - 1, round(pct / 100 * (len(values) - 1)))
    return values[index]


def measure_round_trips(
    aliases: dict[str, str], counter, names: list[str], requests: int = 20
) -> dict[str, dict[str, float]]:
    """Count round trips and new server connections per request, at the socket.

    *aliases* maps each variant's alias to its twin that goes through *counter*.
    """
    results: dict[str, dict[str, float]] = {}
    for alias, proxied in aliases.items():
        results[alias] = {}
        for name in names:
            work = workloads.WORKLOADS[name][1]
            for _ in range(3):
                workloads.request(work, proxied)
            counter.reset()
            for _ in range(requests):
                workloads.request(work, proxied)
            trips, opened = counter.reset()
            results[alias][name] = trips / requests
            results[alias][f"{name}_connections"] = opened / requests
    return results


def median_spread(values: list[float]) -> tuple[float, float]:
    """Return the median and the half-range around it, as a fraction of the median."""
    middle = statistics.median(values)
    half_range = (max(values) - min(values)) / 2
    return middle, (half_range / middle if middle else 0.0)
