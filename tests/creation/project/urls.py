"""One view that queries the default database, for the live-server test (live.py)."""

from django.db import connection
from django.http import HttpResponse
from django.urls import path


def one(request):
    """Answer with SELECT 1, read through the pool."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return HttpResponse(str(cursor.fetchone()[0]))


urlpatterns = [path("", one)]
