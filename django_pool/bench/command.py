"""``python -m django_pool bench``: what pooling buys, measured on your database."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import platform
import signal
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from .targets import OPT_IN, database_settings, describe_url, require_driver, variants

__all__ = ["add_arguments", "run"]

# The keys of workloads.WORKLOADS (importable only once Django is configured).
WORKLOAD_NAMES = ("connect", "query", "atomic")

DESCRIPTION = """\
Compare, on one database, Django without pooling, Django's persistent connections, Django's
native pool (PostgreSQL with psycopg_pool) and django-pool: time per request, round trips
counted at the socket, and a threads run with the server's own count of connections.

Database: --database-url, else a throwaway embedded PostgreSQL (pip install
'django-pool[demo]'), else (or with --sqlite) a SQLite file in a temporary directory.

What it creates, and removes when it ends (also on Ctrl-C, SIGTERM or an error): one table named
django_pool_bench_<pid>_<random> with ten rows in the given database (no other table is
read or written); the embedded server's temporary directory, or the temporary SQLite
directory. Run it on a database of its own or a scratch one all the same: it opens up to
--threads connections at once."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to *parser*."""
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url",
        help="postgres://user:password@host:port/name, mysql://... or sqlite:///path",
    )
    where.add_argument(
        "--sqlite", action="store_true", help="use a temporary SQLite file, not embedded PostgreSQL"
    )
    parser.add_argument(
        "--rounds", type=_whole(1), default=5, help="interleaved rounds (default 5)"
    )
    parser.add_argument(
        "--seconds",
        type=_seconds(0.0, above=True),
        default=0.1,
        help="seconds per variant per round (default 0.1)",
    )
    parser.add_argument(
        "--threads",
        type=_whole(0),
        default=32,
        help="threads in the threads workload (default 32; 0 skips it)",
    )
    parser.add_argument("--pool-size", type=_whole(1), default=8, help="pool size (default 8)")
    parser.add_argument(
        "--external-ms",
        type=_seconds(0.0),
        default=0,
        help="threads workload: each request runs a query, waits this long (an external "
        "call), runs another query (default 0: one query)",
    )
    parser.add_argument(
        "--thread-seconds",
        type=_seconds(0.0, above=True),
        default=0.75,
        help="seconds per variant per round, threads workload (default 0.75)",
    )
    parser.add_argument(
        "--workloads",
        default="connect,query,atomic",
        help="comma-separated: connect, query, atomic",
    )
    parser.add_argument(
        "--variants",
        help="comma-separated aliases to run (default all but fair_gate): no_pool, persistent, "
        "native, django_pool, django_pool_ping, django_pool_transaction; fair_gate: a "
        "yardstick for the threads workload, persistent connections whose requests wait "
        "their turn at a first-come-first-served gate of --pool-size, i.e. what a fair pool "
        "would reach if its checkout and checkin cost nothing",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "--plot", metavar="FILE.png", help="also draw the ratios (needs matplotlib)"
    )
    group = parser.add_argument_group(
        "instruction counts (--instructions)",
        "Count the CPU instructions per request under valgrind's callgrind instead of timing: "
        "each variant runs in its own process, twice (N1 and N2 requests, PYTHONHASHSEED "
        "fixed), and (I(N2) - I(N1)) / (N2 - N1) is reported. Workloads: connect (W0) and "
        "query (W1). Needs valgrind.",
    )
    group.add_argument("--instructions", action="store_true", help="count instructions")
    group.add_argument(
        "--requests",
        default="100,300",
        metavar="N1,N2",
        help="requests in the two runs (default 100,300)",
    )
    group.add_argument(
        "--jobs", type=_whole(1), default=2, help="processes under valgrind at once (default 2)"
    )


def _whole(minimum: int) -> Callable[[str], int]:
    # An argparse type: a whole number of at least *minimum* (a clean usage error otherwise).
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    return parse


def _seconds(minimum: float, *, above: bool = False) -> Callable[[str], float]:
    # An argparse type: a finite number, at least *minimum* (above it, with *above*).
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < minimum or (above and value == minimum):
            bound = "above" if above else "at least"
            raise argparse.ArgumentTypeError(f"{text} is not a finite number {bound} {minimum:g}")
        return value

    return parse


def run(args: argparse.Namespace) -> int:
    """Run the benchmark described by *args*; return the exit status."""
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOAD_NAMES]
    if unknown:
        raise SystemExit(f"--workloads: unknown {unknown}; use {', '.join(WORKLOAD_NAMES)}")
    if args.plot and not args.instructions:
        try:  # before the run, not after it
            import matplotlib  # noqa: F401
        except ImportError:
            raise SystemExit("--plot needs matplotlib: pip install 'django-pool[plot]'") from None
    # SIGTERM unwinds like Ctrl-C, so that the cleanup below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with contextlib.ExitStack() as cleanup:
        target = _target(args, cleanup)
        require_driver(target["vendor"])
        chosen = _chosen(args, target)
        if args.instructions:
            from .instructions import run_instructions

            return run_instructions(args, target, chosen, cleanup)
        return _run_timings(args, target, chosen, names, cleanup)


def _target(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> dict[str, Any]:
    """Return the database to use; register the removal of anything made for it."""
    if args.database_url:
        return database_settings(args.database_url)
    if not args.sqlite:
        from .embedded import EmbeddedPostgres, EmbeddedUnavailable

        server = EmbeddedPostgres()
        print("starting an embedded PostgreSQL in a temporary directory...", file=sys.stderr)
        try:
            url = server.start()
        except EmbeddedUnavailable as why:
            print(f"embedded PostgreSQL unavailable ({why}): using SQLite", file=sys.stderr)
        else:

            def stop() -> None:
                server.stop()
                print("embedded PostgreSQL stopped, its directory removed", file=sys.stderr)

            cleanup.callback(stop)
            target = database_settings(url)
            target["embedded"] = True
            return target
    directory = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="django_pool_bench_"))
    return database_settings(None, directory)


# What the native variant needs, said where it is left out or asked for in vain.
_NATIVE_NEEDS = (
    "Django's own pool needs PostgreSQL with psycopg 3 and psycopg_pool "
    "(pip install 'psycopg[pool]')"
)


def _chosen(args: argparse.Namespace, target: dict[str, Any]):
    chosen = variants(target, args.pool_size)
    known = {v.alias for v in chosen}
    if not args.variants:
        if target["vendor"] == "postgresql" and "native" not in known:
            print(f"Django's native pool is left out: {_NATIVE_NEEDS}.", file=sys.stderr)
        chosen = [v for v in chosen if v.alias not in OPT_IN]
    else:
        wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = [w for w in wanted if w not in known]
        if unknown:
            why = f" (native: {_NATIVE_NEEDS})" if "native" in unknown else ""
            raise SystemExit(
                f"--variants: {unknown} not available here{why}; use {', '.join(sorted(known))}"
            )
        # The persistent floor is every ratio's denominator.
        chosen = [v for v in chosen if v.alias in wanted or v.alias == "persistent"]
    return chosen


def _run_timings(args, target, chosen, names, cleanup: contextlib.ExitStack) -> int:
    # The threads workload exhausts the pools on purpose: their warnings
    # would only interleave with the progress line.
    logging.getLogger("django_pool").setLevel(logging.ERROR)
    counter = _start_counter(target)
    if counter is not None:
        cleanup.callback(counter.close)
    _configure_django(chosen, counter)

    import django
    import sqlalchemy
    from django.db import DatabaseError, connections

    from . import runner, workloads

    first = chosen[0].alias
    workloads.use_table(workloads.new_table_name())
    try:
        workloads.create_table(first)
    except DatabaseError as err:
        from ..errors import first_line

        raise SystemExit(f"bench: cannot use {describe_url(target)}: {first_line(err)}") from None
    cleanup.callback(workloads.drop_table, first)
    vendor = connections[first]
    header = [
        f"django-pool bench on {describe_url(target)}",
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"SQLAlchemy {sqlalchemy.__version__}, driver {_driver(vendor)}",
    ]
    steps = len(names) * args.rounds * len(chosen)
    steps += (args.threads > 0) * 2 * len(chosen)
    progress = runner.Progress(steps)
    data: dict[str, Any] = {
        "target": describe_url(target),
        "sequential": runner.measure_sequential(chosen, names, args.rounds, args.seconds, progress),
    }
    if counter is not None:
        proxied = {v.alias: f"{v.alias}_counted" for v in chosen}
        data["round_trips"] = runner.measure_round_trips(proxied, counter, ["connect", "query"])
    if args.threads > 0:
        # Counted through the persistent variant's own connection, never a pooled one.
        sessions = _session_counter("persistent", target["vendor"])
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
    from .report import conclusion, print_report

    data["conclusion"] = conclusion(target, chosen, data)
    if args.json:
        print(json.dumps({"header": header, **data}, indent=2))
    else:
        print_report(header, chosen, data)
    if args.plot:
        from .plot import plot

        plot(args.plot, header, chosen, data)
        print(f"chart written to {args.plot}", file=sys.stderr)
    connections.close_all()
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
    databases["default"] = next(v.settings for v in chosen if v.alias == "persistent")
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
