from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "tests.tenants.notes"
    label = "notes"
