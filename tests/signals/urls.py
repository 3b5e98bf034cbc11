"""URLs of the signal and toolbar tests: a view that runs one query on an alias."""

from django.db import connections
from django.http import HttpResponse
from django.urls import path


def query(request, alias):
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        (value,) = cursor.fetchone()
    return HttpResponse(f"<html><body><p>{value}</p></body></html>")


urlpatterns = [path("query/<str:alias>/", query)]
