"""Prometheus metrics for django-pool (``pip install 'django-pool[prometheus]'``).

Register in an ``AppConfig.ready()`` (a second call with the same registry is harmless)::

    from django_pool.contrib.prometheus import register
    register()          # the default registry: what django-prometheus's /metrics serves

Metrics, all labelled by ``alias``:

- ``django_pool_connections{state="idle"|"in_use"}``, ``django_pool_waiting``,
  ``django_pool_size``, ``django_pool_max_overflow`` (gauges);
- ``django_pool_connects_total``, ``django_pool_connect_errors_total``,
  ``django_pool_checkouts_total``, ``django_pool_timeouts_total``,
  ``django_pool_recycles_total``, ``django_pool_disconnects_total``,
  ``django_pool_pings_failed_total``, ``django_pool_leaks_total``,
  ``django_pool_invalidations_total{reason=...}`` (counters);
- ``django_pool_wait_seconds``, ``django_pool_hold_seconds``,
  ``django_pool_connect_seconds`` (histograms).

Counters are the pool's own: calling ``django_pool.pop_stats()`` resets them,
which Prometheus reads as a counter reset. Use one or the other.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator

from prometheus_client.core import (
    REGISTRY,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

import django_pool

__all__ = ["DjangoPoolCollector", "register"]

_COUNTERS = {
    "connects": ("connections_num", "Physical connections opened."),
    "connect_errors": ("connections_errors", "Failed attempts to open a connection."),
    "checkouts": ("checkouts_num", "Connections handed out."),
    "timeouts": ("timeouts_num", "Checkouts that gave up with PoolTimeout."),
    "checkout_errors": (
        "checkout_errors_num",
        "Checkouts that failed otherwise: no connection opened in time, a refused login.",
    ),
    "recycles": ("recycles_num", "Connections replaced for their age."),
    "disconnects": ("disconnects_num", "Disconnect-class errors seen."),
    "pings_failed": ("pings_failed", "Pre-pings that found a dead connection."),
    "leaks": ("leaks_num", "Connections held longer than leak_threshold."),
}
_HISTOGRAMS = {
    "wait": "Seconds a checkout took, waiting included.",
    "hold": "Seconds a connection stayed lent out.",
    "connect": "Seconds to open a physical connection.",
}


class DjangoPoolCollector(Collector):
    """Reads ``django_pool.get_stats()`` at each scrape."""

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families."""
        stats = django_pool.get_stats()
        connections = GaugeMetricFamily(
            "django_pool_connections", "Open connections by state.", labels=["alias", "state"]
        )
        waiting = GaugeMetricFamily(
            "django_pool_waiting", "Requests waiting for a connection.", labels=["alias"]
        )
        size = GaugeMetricFamily("django_pool_size", "Configured pool_size.", labels=["alias"])
        overflow = GaugeMetricFamily(
            "django_pool_max_overflow", "Configured max_overflow.", labels=["alias"]
        )
        counters = {
            name: CounterMetricFamily(f"django_pool_{name}", help_, labels=["alias"])
            for name, (_, help_) in _COUNTERS.items()
        }
        invalidations = CounterMetricFamily(
            "django_pool_invalidations",
            "Connections closed instead of reused, by reason.",
            labels=["alias", "reason"],
        )
        histograms = {
            name: HistogramMetricFamily(f"django_pool_{name}_seconds", help_, labels=["alias"])
            for name, help_ in _HISTOGRAMS.items()
        }
        for alias, s in stats.items():
            connections.add_metric([alias, "idle"], s["idle"])
            connections.add_metric([alias, "in_use"], s["in_use"])
            waiting.add_metric([alias], s["waiting"])
            if "pool_size" in s:
                size.add_metric([alias], s["pool_size"])
                overflow.add_metric([alias], s["max_overflow"])
            for name, (key, _) in _COUNTERS.items():
                counters[name].add_metric([alias], s.get(key, 0))
            for reason, n in s["invalidations_by_reason"].items():
                invalidations.add_metric([alias, reason], n)
            for name, family in histograms.items():
                d = s[f"{name}_seconds"]
                buckets = [
                    ("+Inf" if bound == float("inf") else repr(bound), n)
                    for bound, n in d["buckets"].items()
                ]
                family.add_metric([alias], buckets, sum_value=d["sum"])
        yield connections
        yield waiting
        yield size
        yield overflow
        yield from counters.values()
        yield invalidations
        yield from histograms.values()


# The collector registered with each registry: register() twice (two apps'
# ready(), a test setup) returns it rather than failing on duplicate metrics.
_registered: weakref.WeakKeyDictionary[CollectorRegistry, DjangoPoolCollector] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def register(registry: CollectorRegistry = REGISTRY) -> DjangoPoolCollector:
    """Register a :class:`DjangoPoolCollector` with *registry* once; return it.

    A second call with the same registry returns the collector of the first
    (registered again if it was unregistered meanwhile).
    """
    with _lock:
        collector = _registered.get(registry)
        if collector is None:
            collector = DjangoPoolCollector()
            registry.register(collector)
            _registered[registry] = collector
            return collector
        # Again: it may have been unregistered since. "Duplicated timeseries"
        # (ValueError): its metrics are served already.
        with contextlib.suppress(ValueError):
            registry.register(collector)
        return collector
