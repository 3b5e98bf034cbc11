#!/usr/bin/env python
"""Run Django's own test suite twice, stock ENGINE and django-pool ENGINE, and compare.

    python scripts/django_suite.py --vendor postgresql --driver psycopg \
        --parallel 1 backends transactions queries ...

Fetches the sdist of the installed Django (``pip download``, cached in
~/.cache/django-pool, never in the repo), writes a settings module with
``default`` and ``other`` databases for the vendor, runs ``tests/runtests.py``
with each ENGINE, and prints a per-app table side by side. Exits 1 when the
pooled run has a failure or an error that the stock run does not.

GeoDjango: ``--vendor postgis``, ``spatialite`` or ``mysqlgis`` compares
GeoDjango's ENGINE with django-pool's twin, on ``gis_tests`` by default.
SQLite and SpatiaLite always use file test databases: django-pool never
pools in-memory ones, so a run on them would prove only the unpooled path.
SpatiaLite needs a sqlite3 module that loads extensions: ``--driver
pysqlite3`` (the default where the standard library's cannot).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import time
from collections import Counter, defaultdict
from pathlib import Path

DEFAULT_APPS = [
    "backends",
    "transactions",
    "transaction_hooks",
    "select_for_update",
    "queries",
    "basic",
    "model_fields",
    "timezones",
    "test_utils",
    "db_functions",
    "async",
    "handlers",
    "requests_tests",
    "servers",
    "multiple_database",
]
GIS_APPS = ["gis_tests"]
# Vendor -> (stock ENGINE, pooled ENGINE, server settings key or None for files).
GIS = "django.contrib.gis.db.backends"
POOLED = "django_pool.backends"
ENGINES = {
    "postgresql": ("django.db.backends.postgresql", f"{POOLED}.postgresql", "postgresql"),
    "mysql": ("django.db.backends.mysql", f"{POOLED}.mysql", "mysql"),
    "sqlite": ("django.db.backends.sqlite3", f"{POOLED}.sqlite3", None),
    "postgis": (f"{GIS}.postgis", f"{POOLED}.postgis", "postgresql"),
    "mysqlgis": (f"{GIS}.mysql", f"{POOLED}.mysqlgis", "mysql"),
    "spatialite": (f"{GIS}.spatialite", f"{POOLED}.spatialite", None),
}
GIS_VENDORS = ("postgis", "mysqlgis", "spatialite")
CACHE = Path(os.environ.get("DJANGO_POOL_CACHE", Path.home() / ".cache" / "django-pool"))
SERVERS = {
    "postgresql": {
        "USER": os.environ.get("TEST_PG_USER", "postgres"),
        "PASSWORD": os.environ.get("TEST_PG_PASSWORD", ""),
        "HOST": os.environ.get("TEST_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("TEST_PG_PORT", "5432"),
    },
    "mysql": {
        "USER": os.environ.get("TEST_MYSQL_USER", "root"),
        "PASSWORD": os.environ.get("TEST_MYSQL_PASSWORD", ""),
        "HOST": os.environ.get("TEST_MYSQL_HOST", "127.0.0.1"),
        "PORT": os.environ.get("TEST_MYSQL_PORT", "3306"),
    },
}
DRIVER_SETUP = {
    "psycopg": "",
    "psycopg2": "import sys\nsys.modules['psycopg'] = None  # Django falls back to psycopg2\n",
    "mysqlclient": "",
    "pymysql": "import pymysql\npymysql.install_as_MySQLdb()\n",
    "sqlite3": "",
    # pysqlite3 as sqlite3, as pymysql.install_as_MySQLdb() does for MySQLdb.
    "pysqlite3": (
        "import sys\nimport pysqlite3.dbapi2\n"
        "sys.modules['sqlite3'] = pysqlite3\nsys.modules['sqlite3.dbapi2'] = pysqlite3.dbapi2\n"
    ),
}
DEFAULT_DRIVERS = {
    "postgresql": "psycopg",
    "postgis": "psycopg",
    "mysql": "mysqlclient",
    "mysqlgis": "mysqlclient",
    "sqlite": "sqlite3",
}


def default_driver(vendor: str) -> str:
    """Return the vendor's default driver; SpatiaLite's must load extensions."""
    if vendor != "spatialite":
        return DEFAULT_DRIVERS[vendor]
    import sqlite3

    return "sqlite3" if hasattr(sqlite3.Connection, "enable_load_extension") else "pysqlite3"


# "test_x (app.tests.Class.test_x) ... ok" and its variants; a log line (a
# warning the test caused, such as a connection reclaimed from an ended thread)
# may come between the dots and the outcome.
LINE = re.compile(
    r"^(?P<name>\w+) \((?P<path>[\w.]+)\)(?:\n.*?)? \.\.\. (?:[^\n]*\n){0,3}?"
    r"(?P<outcome>ok|FAIL|ERROR|skipped|expected failure|unexpected success)",
    re.M,
)
OUTCOMES = {
    "ok": "passed",
    "FAIL": "failed",
    "ERROR": "errors",
    "skipped": "skipped",
    "expected failure": "passed",
    "unexpected success": "failed",
}


def django_source() -> Path:
    """Return the extracted sdist of the installed Django, fetching it once."""
    import django

    version = django.get_version()
    target = CACHE / f"django-{version}"
    if (target / "tests" / "runtests.py").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"django=={version}",
            "-d",
            str(CACHE),
        ],
        check=True,
    )
    archive = next(CACHE.glob(f"[Dd]jango-{version}.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(CACHE, filter="data")
    return target


def write_settings(
    vendor: str, driver: str, engine: str, label: str, pool: dict | None = None
) -> str:
    """Write a settings module for runtests.py; return its module name."""
    server_key = ENGINES[vendor][2]
    if server_key is None:
        # File test databases: Django's default in-memory ones are never pooled
        # (by design), which would prove nothing.
        databases = {
            alias: {
                "ENGINE": engine,
                "NAME": str(CACHE / f"{label}_{alias}.sqlite3"),
                "TEST": {"NAME": str(CACHE / f"test_{label}_{alias}.sqlite3")},
            }
            for alias in ("default", "other")
        }
    else:
        server = SERVERS[server_key]
        databases = {
            alias: {
                **server,
                "ENGINE": engine,
                "NAME": f"django_suite_{alias}",
                "TEST": {"NAME": f"test_django_suite_{label}_{alias}"},
            }
            for alias in ("default", "other")
        }
    if pool:
        for settings_dict in databases.values():
            settings_dict["POOL"] = pool
    module = f"django_pool_suite_{label}"
    (CACHE / f"{module}.py").write_text(
        f"{DRIVER_SETUP[driver]}"
        f"DATABASES = {databases!r}\n"
        "SECRET_KEY = 'django_tests_secret_key'\n"
        "PASSWORD_HASHERS = ['django.contrib.auth.hashers.MD5PasswordHasher']\n"
        "DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'\n"
        "USE_TZ = False\n"
    )
    return module


# One runtests.py run, stock or pooled: the whole gis_tests takes minutes; a hang, for ever.
RUN_TIMEOUT = 1200


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def run(source: Path, settings: str, apps: list[str], parallel: int) -> tuple[dict, str]:
    """Run runtests.py; return ({test id: outcome}, tail of the output)."""
    # This checkout's django_pool, whatever the environment has installed.
    paths = [str(CACHE), str(source / "tests"), str(Path(__file__).resolve().parents[1])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    command = [
        sys.executable,
        "runtests.py",
        "--settings",
        settings,
        "--parallel",
        str(parallel),
        "--noinput",
        "-v",
        "2",
        *apps,
    ]
    try:
        result = subprocess.run(
            command,
            cwd=source / "tests",
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
    except subprocess.TimeoutExpired as err:
        # A hang: say so, with where it got to, rather than use up CI's time.
        tail = _text(err.stdout) + _text(err.stderr)
        raise SystemExit(
            f"runtests.py {' '.join(apps)} ({settings}) did not finish within "
            f"{RUN_TIMEOUT} s; the end of its output:\n{tail[-3000:]}"
        ) from None
    output = result.stdout + result.stderr
    outcomes = {f"{m['path']}": OUTCOMES[m["outcome"]] for m in LINE.finditer(output)}
    return outcomes, output


def per_app(outcomes: dict[str, str]) -> dict[str, Counter]:
    """Return outcome counts per test app (the first component of a test's path)."""
    table: dict[str, Counter] = defaultdict(Counter)
    for path, outcome in outcomes.items():
        app = path.split(".")[0]
        table[app]["tests"] += 1
        table[app][outcome] += 1
    return table


def pool_options(pairs: list[str]) -> dict:
    """Parse ``KEY=VALUE`` pairs; a value is a Python literal, else a string."""
    options = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        try:
            options[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[key] = text
    return options


def main(argv: list[str] | None = None) -> int:
    """Compare stock and pooled runs; return 1 if the pooled one is worse."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vendor", choices=list(ENGINES), required=True)
    parser.add_argument("--driver", choices=list(DRIVER_SETUP), help="default: the vendor's first")
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--pool",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a POOL option for the pooled run (repeatable), e.g. release=transaction",
    )
    parser.add_argument("apps", nargs="*", help="default: 15 apps; gis_tests for GIS vendors")
    args = parser.parse_args(argv)
    if not args.apps:
        args.apps = (
            GIS_APPS if args.vendor in ("postgis", "mysqlgis", "spatialite") else DEFAULT_APPS
        )
    driver = args.driver or default_driver(args.vendor)

    source = django_source()
    import django

    results = {}
    stock_engine, pooled_engine, _ = ENGINES[args.vendor]
    for variant, package in (("stock", stock_engine), ("pooled", pooled_engine)):
        # The pid keeps concurrent runs (nox sessions) off each other's test databases.
        label = f"{args.vendor}_{driver}_{variant}_{os.getpid()}"
        pool = pool_options(args.pool) if variant == "pooled" else None
        settings = write_settings(args.vendor, driver, package, label, pool)
        started = time.monotonic()
        print(
            f"running {len(args.apps)} apps, {variant} ENGINE {package}, "
            f"{args.vendor}/{driver}, --parallel {args.parallel} ...",
            file=sys.stderr,
        )
        try:
            outcomes, output = run(source, settings, args.apps, args.parallel)
        finally:
            for leftover in CACHE.glob(f"*{label}*"):  # settings module, SQLite files
                leftover.unlink()
        if not outcomes:
            print(output[-3000:], file=sys.stderr)
            raise SystemExit(f"{variant}: no test results parsed")
        summary = [
            line for line in output.splitlines() if line.startswith(("Ran ", "OK", "FAILED"))
        ]
        if not any(line.startswith("Ran ") for line in summary):
            # The runner stopped before running the tests: nothing to compare.
            print(output[-3000:], file=sys.stderr)
            raise SystemExit(f"{variant}: the test run did not complete")
        results[variant] = {
            # Errors outside a test (setUpClass, a module that fails to import) too.
            "headers": sorted(
                {line for line in output.splitlines() if line.startswith(("ERROR: ", "FAIL: "))}
            ),
            "outcomes": outcomes,
            "seconds": time.monotonic() - started,
            "summary": ", ".join(summary),
        }

    stock, pooled = results["stock"]["outcomes"], results["pooled"]["outcomes"]
    bad = ("failed", "errors")
    new = sorted(t for t, o in pooled.items() if o in bad and stock.get(t) not in bad)
    fixed = sorted(t for t, o in stock.items() if o in bad and pooled.get(t) not in bad)
    # A test missing from one run (a crash mid-run) is a difference too.
    missing = sorted(set(stock) - set(pooled))
    # Skipped with one ENGINE only: not a failure, but a difference to explain.
    skipped_differently = sorted(
        t for t in set(stock) & set(pooled) if (stock[t] == "skipped") != (pooled[t] == "skipped")
    )

    print(f"\nDjango {django.get_version()}, {args.vendor}/{driver}, --parallel {args.parallel}")
    columns = ("tests", "pass", "fail", "err", "skip")
    print(f"{'':<22}{'stock':^40}  {'django-pool':^40}")
    print(
        f"{'app':<22}"
        + "".join(f"{c:>8}" for c in columns)
        + "  "
        + "".join(f"{c:>8}" for c in columns)
    )
    tables = {v: per_app(results[v]["outcomes"]) for v in results}
    for app in sorted(set(tables["stock"]) | set(tables["pooled"])):
        row = f"{app:<22}"
        for v in ("stock", "pooled"):
            c = tables[v].get(app, Counter())
            row += "".join(f"{c[k]:>8}" for k in ("tests", "passed", "failed", "errors", "skipped"))
            row += "  " if v == "stock" else ""
        print(row)
    for v in ("stock", "pooled"):
        print(f"{v}: {results[v]['summary']} ({results[v]['seconds']:.0f} s)")
    print(f"new failures or errors with django-pool: {len(new)}")
    for test in new:
        print(f"  {test}")
    if missing:
        print(f"run with the stock ENGINE only: {len(missing)}")
        for test in missing:
            print(f"  {test}")
    if fixed:
        print(f"failing with the stock ENGINE only: {len(fixed)}")
    if skipped_differently:
        print(f"skipped with one ENGINE only: {len(skipped_differently)}")
        for test in skipped_differently:
            print(f"  {test}: stock {stock[test]}, django-pool {pooled[test]}")
    if args.json:
        import sqlalchemy

        Path(args.json).write_text(
            json.dumps(
                {
                    "django": django.get_version(),
                    "python": platform.python_version(),
                    "sqlalchemy": sqlalchemy.__version__,
                    "vendor": args.vendor,
                    "driver": driver,
                    "parallel": args.parallel,
                    "apps": args.apps,
                    "command": " ".join(["python", "scripts/django_suite.py", *sys.argv[1:]]),
                    "new": new,
                    "missing": missing,
                    "fixed": fixed,
                    "skipped_differently": skipped_differently,
                    "failing": {
                        v: sorted(t for t, o in results[v]["outcomes"].items() if o in bad)
                        for v in results
                    },
                    "summary": {v: results[v]["summary"] for v in results},
                    "error_headers": {v: results[v]["headers"] for v in results},
                    "seconds": {v: round(results[v]["seconds"]) for v in results},
                    "per_app": {v: {a: dict(c) for a, c in tables[v].items()} for v in tables},
                },
                indent=1,
            )
        )
    return 1 if new or missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
