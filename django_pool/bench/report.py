"""Print the benchmark's numbers: tables for people, JSON for machines."""

from __future__ import annotations

from typing import Any

from .runner import median_spread
from .targets import Variant
from .workloads import WORKLOADS

__all__ = ["print_report"]

FLOOR = "persistent"  # the ratio's denominator: what a persistent connection costs


def print_report(header: list[str], variants: list[Variant], data: dict[str, Any]) -> None:
    """Print *data* (as ``run()`` collects it) as tables."""
    for line in header:
        print(line)
    sequential = data["sequential"]
    if sequential:
        print()
        print(
            "Sequential requests: median µs per request (± half-range over rounds), "
            "× the persistent-connection floor"
        )
        names = list(sequential)
        head = f"{'variant':<40}" + "".join(f"{WORKLOADS[n][0]:>26}" for n in names)
        print(head + f"{'CPU, conn. only':>18}")
        for v in variants:
            row = f"{v.label:<40}"
            for name in names:
                wall, spread = median_spread(sequential[name][v.alias]["wall_us"])
                floor, _ = median_spread(sequential[name][FLOOR]["wall_us"])
                row += f"{wall:>10,.1f} ±{spread:>4.0%} {wall / floor:>7.2f}×"
            if "connect" in sequential:
                cpu, _ = median_spread(sequential["connect"][v.alias]["cpu_us"])
                floor_cpu, _ = median_spread(sequential["connect"][FLOOR]["cpu_us"])
                row += f"{cpu / floor_cpu:>17.2f}×"
            print(row)
    trips = data.get("round_trips")
    if trips:
        print()
        print("Round trips per request, counted at the socket (and new server connections)")
        names = [n for n in WORKLOADS if n in next(iter(trips.values()))]
        print(f"{'variant':<40}" + "".join(f"{WORKLOADS[n][0]:>26}" for n in names))
        for v in variants:
            cells = "".join(
                f"{trips[v.alias][n]:>18.2f} ({trips[v.alias][n + '_connections']:.2f})"
                for n in names
            )
            print(f"{v.label:<40}{cells}")
    if "stats_cost" in data:
        print_stats_cost(data["stats_cost"])
    if "signal_cost" in data:
        print_signal_cost(data["signal_cost"])
    threads = data.get("threads")
    if threads:
        info = data["threads_config"]
        external = info.get("external_ms", 0)
        request = (
            f"query, {external:g} ms elsewhere, query" if external else "one query"
        ) + " per request"
        print()
        print(
            f"{info['threads']} threads, {request}, pools of {info['pool_size']} "
            f"({info['rounds']} × {info['seconds']:g} s per variant)"
        )
        print(
            f"{'variant':<40}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
            f"{'idle threads':>14}{'server conns':>14}"
        )
        for v in variants:
            t = threads[v.alias]
            conns = "n/a" if t["server_connections"] is None else str(t["server_connections"])
            print(
                f"{v.label:<40}{t['requests_per_s']:>10,.0f}{t['p50_ms']:>9.2f}"
                f"{t['p99_ms']:>9.2f}{t['max_ms']:>9.1f}{t['idle_threads']:>14.1f}{conns:>14}"
            )


def print_stats_cost(cost: dict[str, float]) -> None:
    """Print what the always-on stats cost per checkout+checkin."""
    print()
    print(
        f"Stats cost: checkout+checkin on a bare pool takes {cost['stats_on_us']:.2f} µs with "
        f"stats, {cost['stats_off_us']:.2f} µs without ({cost['difference']:+.1%}; "
        "fastest of 21 interleaved rounds)"
    )


def print_signal_cost(cost: dict[str, float]) -> None:
    """Print what django_pool.signals cost per checkout+checkin, with and without a receiver."""
    print(
        f"Signals cost: with no receiver, {cost['guard_opcodes']:.0f} of the "
        f"{cost['cycle_opcodes']:.0f} bytecode instructions of a checkout+checkin "
        f"({cost['guard_opcodes'] / cost['cycle_opcodes']:.1%}); {cost['no_receiver_us']:.2f} µs "
        f"per cycle, {cost['noop_receiver_us']:.2f} µs with a no-op receiver on checkout "
        "and checkin"
    )
