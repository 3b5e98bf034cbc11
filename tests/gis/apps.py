from django.apps import AppConfig


class GisConfig(AppConfig):
    name = "tests.gis"
    label = "gis_tests_app"
