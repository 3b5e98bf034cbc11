"""Run "requests" on every database of tests/activation/settings.py; print a JSON report."""

import json
import threading

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.gis.geos import Point, Polygon  # noqa: E402
from django.core import checks  # noqa: E402
from django.db import connections  # noqa: E402

from django_pool.wrapper import PooledDatabaseWrapperMixin  # noqa: E402
from tests.activation.custom_pg import base as custom  # noqa: E402
from tests.gis.models import City  # noqa: E402

FRANCE = Polygon.from_bbox((-5.0, 42.0, 8.0, 51.0))
FRANCE.srid = 4326


def in_thread(function):
    """Run *function* as one request in a new thread (a new wrapper); return its result."""
    result = {}

    def run():
        try:
            result["value"] = function()
        finally:
            for connection in connections.all(initialized_only=True):
                connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result["value"]


def session(alias):
    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]
        if connection.vendor == "mysql":
            cursor.execute("SELECT CONNECTION_ID()")
            return cursor.fetchone()[0]
        # SQLite: a temporary table lives as long as the physical connection.
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS witness (n integer)")
        cursor.execute("INSERT INTO witness VALUES (1)")
        cursor.execute("SELECT count(*) FROM witness")
        return cursor.fetchone()[0]


def gis_request(alias, name):
    City.objects.using(alias).create(name=name, point=Point(2.35, 48.85, srid=4326))
    inside = City.objects.using(alias).filter(point__within=FRANCE).count()
    return {"session": session(alias), "inside": inside}


report = {"engines": {a: s["ENGINE"] for a, s in settings.DATABASES.items()}, "classes": {}}
for alias in settings.DATABASES:
    cls = type(connections[alias])
    report["classes"][alias] = {
        "name": f"{cls.__module__}.{cls.__qualname__}",
        "pooled": issubclass(cls, PooledDatabaseWrapperMixin),
    }
report["custom"] = [
    in_thread(
        lambda: {
            "session": session("default"),
            "application_name": connections["default"].application_name(),
            "state_ready": getattr(connections["default"], "state_ready", False),
            "display_name": connections["default"].display_name,
        }
    )
    for _ in range(3)
]
report["custom_opened"] = len(custom.OPENED)
report["prometheus"] = [in_thread(lambda: session("prometheus")) for _ in range(3)]
from django_prometheus.db import connections_total  # noqa: E402

report["prometheus_connections_total"] = connections_total.labels(
    "prometheus", "postgresql"
)._value.get()
for alias in ("postgis", "mysqlgis", "spatialite"):
    if alias in settings.DATABASES:
        in_thread(lambda a=alias: City.objects.using(a).all().delete())
        report[alias] = [in_thread(lambda i=i, a=alias: gis_request(a, f"c{i}")) for i in range(3)]
report["checks"] = [
    {"id": m.id, "msg": m.msg}
    for m in checks.run_checks()
    if m.id and m.id.startswith("django_pool")
]
print(json.dumps(report))
