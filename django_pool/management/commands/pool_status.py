"""``manage.py pool_status``: each pooled database's pool, as settings and server see it.

A management command runs in its own process, which holds none of the web
workers' pools: it shows what it can know for sure, the validated pool
settings, the bound they give, the server's own view of the database's
sessions and free slots, and a probe (a checkout from this process). The
live numbers of a running worker come from ``django_pool.get_stats()`` in
that worker, or from the Prometheus collector.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

import django_pool
from django_pool.checks import check_settings
from django_pool.config import PoolOptions
from django_pool.errors import first_line
from django_pool.rules import pooled_aliases
from django_pool.wrapper import PooledDatabaseWrapperMixin, unpooled


class Command(BaseCommand):
    """Show each pooled database's pool settings, bound, server view and a probe."""

    help = "Show each pooled database's pool: settings, bound, the server's view and a probe."
    # Django's model checks may connect (MySQL reads the server's version),
    # and then the probe would time a checkout of that connection: only the
    # settings are checked, below, and the probe is this process's first.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--database", choices=tuple(connections), help="only this database alias"
        )
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--watch", type=float, metavar="N", help="refresh every N seconds until interrupted"
        )
        parser.add_argument("--count", type=int, help="with --watch: stop after this many")
        # Django adds it to commands that run the system checks; scripts pass it.
        parser.add_argument(
            "--skip-checks", action="store_true", help="skip django-pool's settings checks"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        errors = [] if options["skip_checks"] else [e for e in check_settings() if e.is_serious()]
        if errors:  # what manage.py check would print (E001-E003)
            raise CommandError("\n".join(map(str, errors)))
        engines = pooled_aliases(
            connections.settings, [options["database"]] if options["database"] else None
        )
        # An in-memory SQLite database keeps its one connection: never pooled.
        aliases = [alias for alias in engines if _is_pooled(connections[alias])]
        if options["database"] and not aliases:
            raise CommandError(f"Database {options['database']!r} is not pooled by django-pool.")
        if not aliases:
            raise CommandError(
                "No database is pooled by django-pool: "
                + (
                    "; ".join(f"{alias!r} {_why_unpooled(alias)}" for alias in engines) + "."
                    if engines
                    else "none uses a django_pool ENGINE (activation through INSTALLED_APPS "
                    "leaves an ENGINE it cannot pool as it is: manage.py check says which, "
                    "django_pool.W004)."
                )
            )
        # Clear the screen between refreshes on a terminal only, not into a pipe.
        clear = options["watch"] and not options["json"] and self.stdout.isatty()
        shown = 0
        while True:
            try:
                report = [self.inspect(alias) for alias in aliases]
            except ImproperlyConfigured as err:  # with --skip-checks: the same text, one line
                raise CommandError(str(err)) from None
            if options["json"]:
                self.stdout.write(json.dumps(report, indent=2, default=str))
            else:
                if clear:
                    self.stdout.write("\033[2J\033[H", ending="")
                self.stdout.write(self.render(report))
            shown += 1
            if not options["watch"] or (options["count"] and shown >= options["count"]):
                failed = [r["alias"] for r in report if "error" in r]
                if failed:  # for scripts: the exit status says it too
                    raise CommandError(f"cannot connect to {', '.join(map(repr, failed))}")
                return
            time.sleep(options["watch"])

    def inspect(self, alias: str) -> dict[str, Any]:
        """Return what is known of *alias*'s pool."""
        connection = connections[alias]
        if not isinstance(connection, PooledDatabaseWrapperMixin):
            raise CommandError(f"Database {alias!r} is not pooled by django-pool.")
        settings_dict = connection.settings_dict
        options = PoolOptions.from_settings(alias, settings_dict)
        report: dict[str, Any] = {
            "alias": alias,
            "vendor": connection.vendor,
            "engine": str(settings_dict["ENGINE"]),
            "database": str(settings_dict["NAME"]),
            "host": settings_dict.get("HOST") or "",
            "port": str(settings_dict.get("PORT") or ""),
            "options": {
                field.name: _shown(getattr(options, field.name))
                for field in dataclasses.fields(options)
            },
            "bound_per_process": options.bound(),
            "sizes": options.sizes(),
        }
        try:
            # The server's view through one attempt outside the pool: for a
            # server that is down, the pool's checkout tries again until its
            # timeout (30 s by default), and the report would take that long.
            try:
                # This process's own pooled connections are among the server's
                # sessions (a --watch pass's probe, an application's pool).
                own = django_pool.get_stats(alias).get(alias, {}).get("open", 0)
                with unpooled(), connection.cursor() as cursor:
                    report["server"] = connection.pool_driver.server_status(cursor.cursor)
                if report["server"]:  # a server (not SQLite): its sessions include ours
                    report["server"]["this_process_sessions"] = own
            finally:
                connection.close()
            started = time.monotonic()
            with connection.cursor():
                report["probe_ms"] = round((time.monotonic() - started) * 1000, 2)
        except DatabaseError as err:
            report["error"] = first_line(err)
        finally:
            connection.close()
        report["this_process"] = django_pool.get_stats(alias).get(alias, {})
        return report

    def render(self, report: list[dict[str, Any]]) -> str:
        """Return *report* as a table a person can read in a terminal."""
        lines = []
        for r in report:
            o = r["options"]
            port = f":{r['port']}" if r["port"] else ""  # none: the driver's default
            where = f" @ {r['host']}{port}" if r["host"] else ""
            lines.append(f"{r['alias']}  {r['vendor']}  {r['database']}{where}")
            lines.append(f"  engine    {r['engine']}")
            recycle = "never" if o["recycle"] is None else f"{o['recycle']:g} s"
            pre_ping = {None: "CONN_HEALTH_CHECKS", True: "on", False: "off"}[o["pre_ping"]]
            sizes = "".join(  # the sizes the class uses (by class: subclasses too)
                f"{' + ' if i else ''}{name} {o[name]}" for i, name in enumerate(r["sizes"])
            )
            sizes += ", " if sizes else ""
            lines.append(
                f"  pool      {o['pool_class']}: {sizes}timeout {o['timeout']:g} s, "
                f"recycle {recycle}, pre_ping {pre_ping}"
            )
            bound = r["bound_per_process"]
            lines.append(
                f"  bound     at most {bound} connections per process"
                if bound is not None
                else "  bound     none: a connection per thread that asks for one"
            )
            if "error" in r:
                lines.append(f"  server    cannot connect: {r['error']}")
            elif r.get("server"):
                s = r["server"]
                states = ", ".join(f"{n} {state}" for state, n in sorted(s["sessions"].items()))
                total = sum(s["sessions"].values())
                limit = s.get("limit", "max_connections")  # the limit that leaves fewest
                own = s.get("this_process_sessions", 0)
                ours = f", {own} of them this process's pool" if own else ""
                lines.append(
                    f"  server    {total} other sessions on this database"
                    f"{f' ({states})' if states else ''}{ours}; "
                    f"{s['max_connections'] - s['connections']} of "
                    f"{s['max_connections']} connection slots free"
                    + (f" ({limit})" if limit != "max_connections" else "")
                )
                if "wait_timeout" in s:
                    lines.append(f"            wait_timeout {s['wait_timeout']} s")
            else:
                lines.append("  server    none (embedded database)")
            if "probe_ms" in r:
                lines.append(
                    f"  probe     checkout and first query in {r['probe_ms']:.1f} ms "
                    "(this command's own connection)"
                )
            stats = r["this_process"]
            # The command's process holds only what the probe opened, unless it runs inside
            # an application process (call_command): then that process's pool is worth showing.
            if stats and stats.get("checkouts_num", 0) > 1:
                lines.append(
                    f"  this process  {stats['open']} open, {stats['in_use']} in use, "
                    f"{stats.get('connections_num', 0)} opened, "
                    f"{stats.get('checkouts_num', 0)} checkouts, the probe's included"
                )
            lines.append(
                "  workers   each process has its own pools, not visible from here: "
                "django_pool.get_stats() in a worker, or Prometheus"
            )
            lines.append("")
        return "\n".join(lines)


def _why_unpooled(alias: str) -> str:
    # Why a database with a django_pool ENGINE is not pooled, in a few words.
    settings_dict = connections.settings[alias]
    if settings_dict.get("POOL") is False:
        return 'has "POOL": False'
    if (settings_dict.get("OPTIONS") or {}).get("pool"):
        return "has Django's own pool in OPTIONS (E002)"
    if connections[alias].vendor == "sqlite":
        return "is an in-memory SQLite database, which keeps its one connection"
    return "is not pooled"


def _is_pooled(connection: Any) -> bool:
    # A pooled wrapper says; a class replaced after the settings were read is not pooled.
    return isinstance(connection, PooledDatabaseWrapperMixin) and connection.is_pooled()


def _shown(value: Any) -> Any:
    # A hook (reset_session) by its name, so that --json can print it.
    return getattr(value, "__qualname__", repr(value)) if callable(value) else value
