from django.db import connection
from django.http import JsonResponse
from django.urls import path

from tests.tenants.notes.models import Note


def notes(request):
    """The tenant's notes, and the session they were read on."""
    texts = list(Note.objects.values_list("text", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path'), pg_backend_pid()")
        search_path, pid = cursor.fetchone()
    return JsonResponse(
        {"schema": connection.schema_name, "notes": texts, "search_path": search_path, "pid": pid}
    )


urlpatterns = [path("notes/", notes)]
