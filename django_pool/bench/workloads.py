"""Requests as Django's handler runs them: request_started, the work, request_finished.

No HTTP server: only what Django does around a view. ``request_finished``
runs ``close_old_connections``, which is where a connection goes back to the
pool (or is closed, or kept, depending on the variant).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished, request_started
from django.db import connections, models, transaction

from ..gate import FairGate

__all__ = [
    "WORKLOADS",
    "create_table",
    "drop_table",
    "in_turn",
    "new_table_name",
    "query_wait_query",
    "request",
    "use_table",
]

#: The model of the benchmark's table, defined by :func:`use_table` once its name is known.
BenchItem: Any = None


def new_table_name() -> str:
    """Return a table name no application (and no other bench run) uses."""
    return f"django_pool_bench_{os.getpid()}_{secrets.token_hex(3)}"


def use_table(table: str) -> type[models.Model]:
    """Define the benchmark's model on *table* (once per process) and return it."""
    global BenchItem
    if BenchItem is None:
        BenchItem = type(
            "BenchItem",
            (models.Model,),
            {
                "__module__": __name__,
                "__doc__": "A small table for the ORM workloads (created and dropped per run).",
                "name": models.CharField(max_length=50),
                "hits": models.IntegerField(default=0),
                "Meta": type("Meta", (), {"app_label": "django_pool_bench", "db_table": table}),
            },
        )
    elif BenchItem._meta.db_table != table:
        raise RuntimeError(f"the bench model is already on {BenchItem._meta.db_table!r}")
    return BenchItem


class _Handler:
    """Sender of the request signals, standing in for Django's request handler."""


def request(work: Callable[[str], object], alias: str) -> None:
    """Run *work(alias)* as one request."""
    request_started.send(sender=_Handler)
    try:
        work(alias)
    finally:
        request_finished.send(sender=_Handler)


def in_turn(permits: int) -> Callable[[Callable[[str], object], str], None]:
    """Return a :func:`request` that first waits its turn at a fair gate of *permits*.

    The ``fair_gate`` variant's requests: django-pool's own
    :class:`~django_pool.gate.FairGate` hands the turns over, first come first
    served, and nothing else of a pool runs.
    """
    gate = FairGate(permits, keep_idle=0)

    def request_in_turn(work: Callable[[str], object], alias: str) -> None:
        hand: list[Any] = []  # a permit: the right to go on
        if not gate.take(time.monotonic() + _TURN_TIMEOUT, _no_housekeeping, hand):
            raise RuntimeError(f"fair_gate: no turn within {_TURN_TIMEOUT} s")
        try:
            request(work, alias)
        finally:
            gate.release()

    return request_in_turn


_TURN_TIMEOUT = 60.0


def _no_housekeeping(waited: bool) -> None:
    pass


def connection_only(alias: str) -> None:
    """Take a connection and give it back: the cost of connection handling alone."""
    connections[alias].ensure_connection()


def one_query(alias: str) -> None:
    """One small ORM query."""
    BenchItem.objects.using(alias).filter(pk=1).first()


def atomic_three(alias: str) -> None:
    """``atomic()`` around three queries: read, update, count."""
    with transaction.atomic(using=alias):
        BenchItem.objects.using(alias).filter(pk=2).first()
        BenchItem.objects.using(alias).filter(pk=2).update(hits=models.F("hits") + 1)
        BenchItem.objects.using(alias).count()


def query_wait_query(wait: float) -> Callable[[str], None]:
    """Return a workload: one query, *wait* seconds on something else, one query.

    The wait stands for a view's call to an external API between queries.
    """

    def work(alias: str) -> None:
        one_query(alias)
        time.sleep(wait)
        one_query(alias)

    return work


#: name -> (label, function)
WORKLOADS: dict[str, tuple[str, Callable[[str], None]]] = {
    "connect": ("connection only", connection_only),
    "query": ("one query", one_query),
    "atomic": ("atomic, 3 queries", atomic_three),
}


def create_table(alias: str) -> None:
    """Create the benchmark's table (see :func:`use_table`) with ten rows."""
    connection = connections[alias]
    with connection.schema_editor() as editor:
        editor.create_model(BenchItem)
    BenchItem.objects.using(alias).bulk_create(BenchItem(name=f"item {i}") for i in range(1, 11))
    connection.close()


def drop_table(alias: str) -> None:
    """Drop the benchmark's table (every connection to *alias* is closed first)."""
    connections.close_all()
    connection = connections[alias]
    try:
        with connection.schema_editor() as editor:
            editor.delete_model(BenchItem)
    finally:
        connection.close()
