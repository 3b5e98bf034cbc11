"""The GIS test app's tables exist only on the GeoDjango databases."""

GIS_ALIASES = ("postgis", "spatialite", "mysqlgis")


class GisRouter:
    def allow_migrate(self, db, app_label, **hints):
        if app_label == "gis_tests_app":
            return db in GIS_ALIASES
        return None
