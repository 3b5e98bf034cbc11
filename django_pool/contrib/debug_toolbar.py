"""A django-debug-toolbar panel: what the request did with each pool.

Add it to the toolbar's panels::

    DEBUG_TOOLBAR_PANELS = [
        ...,  # the toolbar's own
        "django_pool.contrib.debug_toolbar.PoolPanel",
    ]

For the request, per database alias: each checkout (a new connection or a
reused one, how long it waited, how long it was held), the connections
discarded and why, and the pool's gauges (``django_pool.get_stats()``) as the
response left. Built on :mod:`django_pool.signals`: its receivers are
connected only while a request with the toolbar runs.

Django gives a request's connections back at ``request_finished``, after the
toolbar has collected its data: such a checkout is shown as still held, with
the time held until the response.
"""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from debug_toolbar.panels import Panel
from django.template import engines
from django.template.backends.django import DjangoTemplates
from django.utils.translation import gettext_lazy as _

from .. import api, signals

__all__ = ["PoolPanel"]


@dataclass
class _Checkout:
    alias: str
    connection_id: int
    new: bool
    waited: float
    since: float
    held: float | None = None  # None while still held
    discarded: str | None = None


@dataclass
class _Recording:
    """What one request did with the pools."""

    opened: set[int] = field(default_factory=set)
    checkouts: list[_Checkout] = field(default_factory=list)
    discards: list[tuple[str, str]] = field(default_factory=list)
    # Lent and not yet back, by id() of the driver connection.
    lent: dict[int, _Checkout] = field(default_factory=dict)
    # The last connection discarded per alias: its checkin comes next, without it.
    discarded_last: dict[str, int] = field(default_factory=dict)


# The recording of the request running in this context (async views included:
# sync_to_async copies the context into the thread that runs the ORM).
_recording: ContextVar[_Recording | None] = ContextVar("django_pool_toolbar", default=None)


def _on_opened(sender: Any, alias: str, connection: Any, **kwargs: Any) -> None:
    recording = _recording.get()
    if recording is not None:
        recording.opened.add(id(connection))


def _on_checked_out(sender: Any, alias: str, connection: Any, waited: float, **kwargs: Any) -> None:
    recording = _recording.get()
    if recording is None:
        return
    key = id(connection)
    checkout = _Checkout(alias, key, key in recording.opened, waited, time.monotonic())
    recording.opened.discard(key)
    recording.checkouts.append(checkout)
    recording.lent[key] = checkout


def _on_checked_in(sender: Any, alias: str, connection: Any, held: float, **kwargs: Any) -> None:
    recording = _recording.get()
    if recording is None:
        return
    key = id(connection) if connection is not None else recording.discarded_last.pop(alias, None)
    checkout = recording.lent.pop(key, None) if key is not None else None
    if checkout is not None:
        checkout.held = held


def _on_discarded(sender: Any, alias: str, connection: Any, reason: str, **kwargs: Any) -> None:
    recording = _recording.get()
    if recording is None:
        return
    recording.discards.append((alias, reason))
    key = id(connection)
    recording.discarded_last[alias] = key
    checkout = recording.lent.get(key)
    if checkout is not None:
        checkout.discarded = reason


_RECEIVERS = (
    (signals.connection_opened, _on_opened),
    (signals.connection_checked_out, _on_checked_out),
    (signals.connection_checked_in, _on_checked_in),
    (signals.connection_discarded, _on_discarded),
)
_lock = threading.Lock()
_listening = 0  # requests recording now: the receivers are connected while > 0


def _listen() -> None:
    global _listening
    with _lock:
        if _listening == 0:
            for signal, receiver in _RECEIVERS:
                signal.connect(receiver, dispatch_uid=f"django_pool.toolbar.{receiver.__name__}")
        _listening += 1


def _stop_listening() -> None:
    global _listening
    with _lock:
        _listening -= 1
        if _listening == 0:
            for signal, receiver in _RECEIVERS:
                signal.disconnect(dispatch_uid=f"django_pool.toolbar.{receiver.__name__}")


_GAUGES = ("open", "in_use", "idle", "waiting", "pool_size", "max_overflow", "overflow")


class PoolPanel(Panel):
    """Per alias: checkouts (new or reused, wait, held), discards, and the pool's gauges."""

    title = _("Connection pools")
    # Async views reach the ORM through sync_to_async, which carries the
    # request's context (and so the recording) into the thread it runs in.
    is_async = True

    _token: Any = None
    _own: _Recording | None = None

    @property
    def nav_subtitle(self) -> str:
        """Return "N checkouts, W ms waiting" for the side bar."""
        stats = self.get_stats()
        aliases = stats.get("aliases", [])
        checkouts = sum(a["checkouts"] for a in aliases)
        wait = sum(a["wait_ms"] for a in aliases)
        return f"{checkouts} checkout{'' if checkouts == 1 else 's'}, {wait:.2f} ms waiting"

    @property
    def content(self) -> str:
        """Render the recorded stats."""
        return _template().render(self.get_stats())

    def enable_instrumentation(self) -> None:
        """Start recording this request's pool events."""
        if self._own is not None:
            return
        self._own = _Recording()
        self._token = _recording.set(self._own)
        _listen()

    def disable_instrumentation(self) -> None:
        """Stop recording."""
        if self._token is None:
            return
        try:
            _recording.reset(self._token)
        except ValueError:  # reset from another context: clear ours instead
            _recording.set(None)
        self._token = None
        _stop_listening()

    def generate_stats(self, request: Any, response: Any) -> None:
        """Record per alias the checkouts, discards and gauges (JSON-serializable)."""
        recording = self._own or _Recording()
        now = time.monotonic()
        gauges = api.get_stats()
        by_alias: dict[str, dict[str, Any]] = {}
        for checkout in recording.checkouts:
            entry = by_alias.setdefault(checkout.alias, _alias_entry(checkout.alias))
            held = checkout.held if checkout.held is not None else now - checkout.since
            entry["rows"].append(
                {
                    "new": checkout.new,
                    "wait_ms": checkout.waited * 1000,
                    "held_ms": held * 1000,
                    "still_held": checkout.held is None,
                    "discarded": checkout.discarded,
                }
            )
        for alias, reason in recording.discards:
            by_alias.setdefault(alias, _alias_entry(alias))["discards"].append(reason)
        for alias, entry in by_alias.items():
            rows = entry["rows"]
            entry.update(
                checkouts=len(rows),
                new=sum(r["new"] for r in rows),
                reused=sum(not r["new"] for r in rows),
                wait_ms=sum(r["wait_ms"] for r in rows),
                held_ms=sum(r["held_ms"] for r in rows),
                gauges=[(g, gauges[alias][g]) for g in _GAUGES if g in gauges.get(alias, {})],
            )
        self.record_stats({"aliases": sorted(by_alias.values(), key=lambda a: a["alias"])})


def _alias_entry(alias: str) -> dict[str, Any]:
    return {"alias": alias, "rows": [], "discards": []}


def _template() -> Any:
    # The file next to this module, compiled by the project's Django template
    # engine (the toolbar needs one): no template directory to configure and
    # no INSTALLED_APPS entry needed.
    engine = next(e for e in engines.all() if isinstance(e, DjangoTemplates))
    text = resources.files(__package__).joinpath("debug_toolbar.html").read_text("utf-8")
    return engine.from_string(text)
