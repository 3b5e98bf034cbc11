"""Print the benchmark's numbers: tables for people, JSON for machines."""

from __future__ import annotations

from typing import Any

from .runner import median_spread
from .targets import Variant
from .workloads import WORKLOADS

__all__ = ["conclusion", "print_report"]

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
        if "connect" in sequential:
            head += f"{'CPU, conn. only':>18}"
        print(head)
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
        if "connect" in sequential:
            print(
                "CPU, conn. only: this process's CPU time per 'connection only' request "
                "(time.process_time), × the floor; it leaves out time spent waiting on the server."
            )
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
            f"{'idle threads':>14}{'server conns':>14}{'switches/req':>14}{'CPU µs/req':>12}"
        )
        for v in variants:
            t = threads[v.alias]
            conns = "n/a" if t["server_connections"] is None else str(t["server_connections"])
            switches = t.get("switches_per_request")
            switched = "n/a" if switches is None else f"{switches:.1f}"
            cpu = t.get("cpu_us_per_request")
            cpu_text = "n/a" if cpu is None else f"{cpu:.0f}"
            print(
                f"{v.label:<40}{t['requests_per_s']:>10,.0f}{t['p50_ms']:>9.2f}"
                f"{t['p99_ms']:>9.2f}{t['max_ms']:>9.1f}{t['idle_threads']:>14.1f}{conns:>14}"
                f"{switched:>14}{cpu_text:>12}"
            )
    if data.get("conclusion"):
        print()
        print("Conclusion: " + " ".join(data["conclusion"]))


def print_stats_cost(cost: dict[str, float]) -> None:
    """Print what the always-on stats cost per checkout+checkin."""
    print()
    line = (
        f"Stats cost: checkout+checkin on a bare pool takes {cost['stats_on_us']:.2f} µs with "
        f"stats, {cost['stats_off_us']:.2f} µs without (fastest of 21 interleaved rounds): "
    )
    noise = cost.get("noise", 0.0)
    if cost["difference"] <= noise:
        line += f"no difference above this machine's noise ({noise:.1%})."
    else:
        line += f"{cost['difference']:+.1%} (noise {noise:.1%})."
    print(line)


def _ratio(data: dict[str, Any], workload: str, alias: str) -> float | None:
    cells = data["sequential"].get(workload, {})
    if alias not in cells or FLOOR not in cells:
        return None
    wall, _ = median_spread(cells[alias]["wall_us"])
    floor, _ = median_spread(cells[FLOOR]["wall_us"])
    return wall / floor


def conclusion(target: dict[str, Any], variants: list[Variant], data: dict[str, Any]) -> list[str]:
    """Return the run's reading in a few sentences a newcomer can follow."""
    aliases = {v.alias for v in variants}
    workload = next((w for w in ("query", "connect", "atomic") if w in data["sequential"]), None)
    lines = []
    if workload and "django_pool" in aliases:
        label = WORKLOADS[workload][0]
        ours = _ratio(data, workload, "django_pool")
        parts = []
        if "no_pool" in aliases:
            none = _ratio(data, workload, "no_pool")
            if none and ours:
                if none > ours:
                    change = f"saves {1 - ours / none:.0%} of the time against no pooling"
                else:  # (SQLite, which opens a connection in microseconds)
                    change = f"takes {ours / none - 1:.0%} more time than no pooling"
                parts.append(
                    f"for a '{label}' request django-pool {change} "
                    f"({none:.2f}× the floor vs {ours:.2f}×)"
                )
        if ours:
            parts.append(
                f"it costs {ours:.2f}× a persistent connection (the floor, which keeps one "
                "server connection per thread for ever)"
            )
        if parts:
            lines.append("; ".join(parts) + ".")
    threads = data.get("threads")
    if threads and "django_pool" in threads:
        info = data["threads_config"]
        seen = threads["django_pool"]["server_connections"]
        persistent = threads.get(FLOOR, {}).get("server_connections")
        if seen is None:
            lines.append(
                f"Under {info['threads']} threads django-pool served every thread from a pool "
                f"of {info['pool_size']} (SQLite: no server to count connections)."
            )
        else:
            text = (
                f"Under {info['threads']} threads the server saw at most {seen} connections "
                f"from django-pool (pool_size {info['pool_size']})"
            )
            if persistent is not None:
                text += f", against {persistent} with persistent connections"
            lines.append(text + ".")
    if threads and "django_pool" in threads and "fair_gate" in threads:
        ours, bound = (threads[a]["requests_per_s"] for a in ("django_pool", "fair_gate"))
        if bound:
            lines.append(
                f"It served {ours / bound:.2f}× the requests of the fair_gate bound (what a "
                "first-come-first-served pool of the same size would serve if its checkout "
                "and checkin cost nothing)."
            )
    if target["vendor"] == "sqlite3":
        lines.append(
            "SQLite opens a connection in microseconds, so pooling saves little here; on a "
            "server database it saves a connection per request: run the bench with "
            "--database-url postgres://... or mysql://... (or install 'django-pool[demo]' for "
            "an embedded PostgreSQL)."
        )
    return lines


def print_signal_cost(cost: dict[str, float]) -> None:
    """Print what django_pool.signals cost per checkout+checkin, with and without a receiver."""
    print(
        f"Signals cost: with no receiver, {cost['guard_opcodes']:.0f} of the "
        f"{cost['cycle_opcodes']:.0f} bytecode instructions of a checkout+checkin "
        f"({cost['guard_opcodes'] / cost['cycle_opcodes']:.1%}); {cost['no_receiver_us']:.2f} µs "
        f"per cycle, {cost['noop_receiver_us']:.2f} µs with a no-op receiver on checkout "
        "and checkin"
    )
