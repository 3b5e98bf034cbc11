"""Views that use the ORM and say which process and which server session served them."""

import os

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import JsonResponse

import django_pool
from tests.testapp.models import Item


def session_id() -> int:
    """Return the server's id of this thread's connection (a backend pid, a CONNECTION_ID())."""
    sql = (
        "SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT CONNECTION_ID()"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def hold(seconds: float) -> None:
    """Keep the connection busy on the server for *seconds* (contention for the pool)."""
    sql = "SELECT pg_sleep(%s)" if connection.vendor == "postgresql" else "SELECT SLEEP(%s)"
    with connection.cursor() as cursor:
        cursor.execute(sql, [seconds])


def served(session: int, items: int) -> dict:
    """Return what a response reports: who served it, and this process's pool."""
    stats = django_pool.get_stats("default").get("default", {})
    return {
        "pid": os.getpid(),
        "session": session,
        "items": items,
        "open": stats.get("open"),
        "bound": stats.get("pool_size", 0) + stats.get("max_overflow", 0),
    }


def sync_view(request):
    """A sync view: an ORM write and read, and a short hold of the connection."""
    Item.objects.create(name="sync")
    hold(float(request.GET.get("hold", 0.01)))
    return JsonResponse(served(session_id(), Item.objects.filter(name="sync").count()))


async def async_view(request):
    """An async view: the async ORM, then the same session id, from the request's thread."""
    await Item.objects.acreate(name="async")
    await sync_to_async(hold)(float(request.GET.get("hold", 0.01)))
    session = await sync_to_async(session_id)()
    items = await Item.objects.filter(name="async").acount()
    return JsonResponse(served(session, items))
