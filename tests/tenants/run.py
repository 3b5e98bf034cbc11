"""Two tenants, requests through Django's WSGI handler on one pooled connection; JSON report.

Creates the database named by DJANGO_POOL_TENANTS_DB, migrates, makes tenants
t1 and t2 (each with one note in its own schema), then runs requests for
both tenants, alternating and from threads, in each mode: POOL release
"request" (default) and "transaction", with django-tenants'
TENANT_LIMIT_SET_CALLS off and on. Last, a fork: the child's first query
must set the search_path on its new connection. Drops the database.
"""

import json
import os
import random
import threading
from wsgiref.util import setup_testing_defaults

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

import django_pool  # noqa: E402
from tests.tenants.customers.models import Client, Domain  # noqa: E402
from tests.tenants.notes.models import Note  # noqa: E402

TENANTS = ("t1", "t2")
app = WSGIHandler()


def request(schema):
    """One request, as a server makes it: request_finished closes the connection."""
    environ = {"PATH_INFO": "/notes/", "HTTP_HOST": f"{schema}.test"}
    setup_testing_defaults(environ)
    status = []
    response = app(environ, lambda s, h: status.append(s))
    try:
        body = b"".join(response)
    finally:
        response.close()
    result = json.loads(body) if status[0].startswith("200") else {"status": status[0]}
    result["asked"] = schema
    return result


def wrong(result):
    schema = result["asked"]
    return not (
        result.get("schema") == schema
        and result.get("notes") == [f"note of {schema}"]
        and result.get("search_path", "").replace('"', "").split(",")[0].strip() == schema
    )


def scenario(release, limit):
    settings.TENANT_LIMIT_SET_CALLS = limit
    connections.settings["default"]["POOL"] = {
        "pool_size": 1,
        "max_overflow": 0,
        "timeout": 20,
        "release": release,
    }
    connection.close()
    django_pool.dispose()
    results = [request(schema) for schema in TENANTS * 4]  # alternating on one connection
    lock = threading.Lock()

    def worker(seed):
        rng = random.Random(seed)
        for _ in range(8):
            result = request(rng.choice(TENANTS))
            with lock:
                results.append(result)
        connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = django_pool.get_stats("default")["default"]
    return {
        "stats": {k: stats[k] for k in ("connections_num", "checkouts_num")}
        | {"invalidations": stats["invalidations_by_reason"]},
        "requests": len(results),
        "wrong": [r for r in results if wrong(r)],
        "pids": len({r.get("pid") for r in results}),
        "tenants": sorted({str(r.get("schema")) for r in results}),
    }


def fork_child_sets_search_path():
    """A forked child's first query runs on a new connection: it must set the search_path."""
    settings.TENANT_LIMIT_SET_CALLS = True
    connections.settings["default"]["POOL"] = {"pool_size": 1, "max_overflow": 0}
    connection.close()
    django_pool.dispose()
    connection.set_schema("t1")
    assert list(Note.objects.values_list("text", flat=True)) == ["note of t1"]
    # The parent still holds its connection (and django-tenants remembers the SET).
    assert connection.connection is not None and connection.search_path_set_schemas
    pid = os.fork()
    if pid == 0:
        try:
            ok = list(Note.objects.values_list("text", flat=True)) == ["note of t1"]
        except Exception:  # noqa: BLE001 - "relation notes_note does not exist"
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    connection.close()
    return os.waitstatus_to_exitcode(status) == 0


def admin_execute(sql):
    """Run *sql* on the maintenance database, outside the pool (psycopg 3 or psycopg2)."""
    from django.db.backends.postgresql.base import Database

    params = {k.lower(): settings.DATABASES["default"][k] for k in ("USER", "HOST", "PORT")}
    admin = Database.connect(dbname="postgres", **params)
    try:
        admin.autocommit = True
        cursor = admin.cursor()
        cursor.execute(sql)
        cursor.close()
    finally:
        admin.close()


def main():
    name = settings.DATABASES["default"]["NAME"]
    admin_execute(f'CREATE DATABASE "{name}"')
    try:
        call_command("migrate_schemas", shared=True, verbosity=0)
        for schema in TENANTS:
            client = Client(schema_name=schema, name=schema)
            client.save()  # creates the schema and migrates TENANT_APPS into it
            Domain.objects.create(domain=f"{schema}.test", tenant=client, is_primary=True)
            with schema_context(schema):
                Note.objects.create(text=f"note of {schema}")
        connection.set_schema_to_public()
        connection.close()
        report = {
            "engine": settings.DATABASES["default"]["ENGINE"],
            "class": f"{type(connection).__module__}.{type(connection).__qualname__}",
            "scenarios": {
                f"{release}/limit={limit}": scenario(release, limit)
                for release in ("request", "transaction")
                for limit in (False, True)
            },
            "fork_child_ok": fork_child_sets_search_path(),
        }
    finally:
        connections.close_all()
        django_pool.dispose()
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(report))


main()
