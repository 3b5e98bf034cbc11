"""``python -m django_pool bench``: what pooling buys, measured on your database."""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
from typing import Any

from .targets import database_settings, describe_url, variants

__all__ = ["add_arguments", "run"]

# The keys of workloads.WORKLOADS (which defines a model: importable only once
# Django is configured).
WORKLOAD_NAMES = ("connect", "query", "atomic")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to *parser*."""
    parser.add_argument(
        "--database-url",
        help="postgres://, mysql:// or sqlite:///path (default: a new SQLite file)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument(
        "--seconds", type=float, default=0.1, help="seconds per variant per round (default 0.1)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=32,
        help="threads in the threads workload (default 32; 0 skips it)",
    )
    parser.add_argument("--pool-size", type=int, default=8, help="pool size (default 8)")
    parser.add_argument(
        "--external-ms",
        type=float,
        default=0,
        help="threads workload: each request runs a query, waits this long (an external "
        "call), runs another query (default 0: one query)",
    )
    parser.add_argument(
        "--thread-seconds",
        type=float,
        default=0.75,
        help="seconds per variant per round, threads workload (default 0.75)",
    )
    parser.add_argument(
        "--workloads",
        default="connect,query,atomic",
        help="comma-separated: connect, query, atomic",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "--plot", metavar="FILE.png", help="also draw the ratios (needs matplotlib)"
    )


def run(args: argparse.Namespace) -> int:
    """Run the benchmark described by *args*; return the exit status."""
    target = database_settings(args.database_url)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOAD_NAMES]
    if unknown:
        raise SystemExit(f"--workloads: unknown {unknown}; use {', '.join(WORKLOAD_NAMES)}")
    chosen = variants(target, args.pool_size)
    # The threads workload exhausts the pools on purpose: their warnings
    # would only interleave with the progress line.
    logging.getLogger("django_pool").setLevel(logging.ERROR)
    counter = _start_counter(target)
    _configure_django(chosen, counter)

    import django
    import sqlalchemy
    from django.db import DatabaseError, connections

    from . import runner, workloads

    try:
        workloads.create_table(chosen[0].alias)
    except DatabaseError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SystemExit(f"bench: cannot use {describe_url(target)}: {first_line}") from None
    vendor = connections[chosen[0].alias]
    header = [
        f"django-pool bench on {describe_url(target)}",
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"SQLAlchemy {sqlalchemy.__version__}, driver {_driver(vendor)}",
    ]
    steps = len(names) * args.rounds * len(chosen)
    steps += (args.threads > 0) * 2 * len(chosen)
    progress = runner.Progress(steps)
    if not args.json:
        print(header[0], file=sys.stderr)
    data: dict[str, Any] = {
        "target": describe_url(target),
        "sequential": runner.measure_sequential(chosen, names, args.rounds, args.seconds, progress),
    }
    if counter is not None:
        proxied = {v.alias: f"{v.alias}_counted" for v in chosen}
        data["round_trips"] = runner.measure_round_trips(proxied, counter, ["connect", "query"])
    if args.threads > 0:
        sessions = _session_counter(chosen[1].alias, target["vendor"])
        work = workloads.query_wait_query(args.external_ms / 1000) if args.external_ms > 0 else None
        data["threads"] = runner.measure_threads(
            chosen, args.threads, args.thread_seconds, 2, sessions, progress, work
        )
        data["threads_config"] = {
            "threads": args.threads,
            "pool_size": args.pool_size,
            "rounds": 2,
            "seconds": args.thread_seconds,
            "external_ms": args.external_ms,
        }
    from .overhead import measure_signal_cost, measure_stats_cost

    data["stats_cost"] = measure_stats_cost()
    data["signal_cost"] = measure_signal_cost(rounds=11, n=2000)
    progress.finish()
    data["variants"] = {v.alias: v.label for v in chosen}
    if args.json:
        print(json.dumps({"header": header, **data}, indent=2))
    else:
        from .report import print_report

        print_report(header, chosen, data)
    if args.plot:
        from .plot import plot

        plot(args.plot, header, chosen, data)
        print(f"chart written to {args.plot}", file=sys.stderr)
    connections.close_all()
    if counter is not None:
        counter.close()
    return 0


def _start_counter(target):
    if target["vendor"] == "sqlite3":
        return None
    from .proxy import RoundTripCounter

    default_port = {"postgresql": 5432, "mysql": 3306}[target["vendor"]]
    return RoundTripCounter(
        (target.get("HOST") or "127.0.0.1", int(target.get("PORT") or default_port))
    )


def _configure_django(chosen, counter) -> None:
    from django.conf import settings

    databases = {v.alias: v.settings for v in chosen}
    if counter is not None:  # twins of each variant, through the round-trip counter
        for v in chosen:
            twin = {**v.settings, "HOST": "127.0.0.1", "PORT": str(counter.port)}
            databases[f"{v.alias}_counted"] = twin
    databases["default"] = chosen[1].settings
    settings.configure(DATABASES=databases, INSTALLED_APPS=[], USE_TZ=True)
    import django

    django.setup()


def _session_counter(alias: str, vendor: str):
    """Return a function counting the server's sessions on the database, or None."""
    from django.db import connections

    if vendor == "sqlite3":
        return lambda: None
    sql = {
        "postgresql": "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        "mysql": "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
        "WHERE DB = DATABASE() AND ID <> CONNECTION_ID()",
    }[vendor]

    def count() -> int:
        with connections[alias].cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]

    return count


def _driver(connection) -> str:
    module = connection.Database
    version = getattr(module, "__version__", None) or getattr(module, "version_info", "")
    return f"{module.__name__} {version}"
