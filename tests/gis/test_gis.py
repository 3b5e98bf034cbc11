"""GeoDjango through the pooled twins: PostGIS, SpatiaLite and MySQL/MariaDB GIS.

Each test runs several "requests" on a pool of one connection, so every
request after the first reuses the same physical connection; the witnesses
are the server's session id and a temporary table (which lives and dies with
the session). Saving and reading geometries on a reused connection needs
GeoDjango's per-connection setup to have survived: psycopg 3 cannot adapt a
geometry without the dumpers PostGIS registers on the connection
(jneight/django-db-geventpool#98), and SpatiaLite's functions exist only in a
connection that loaded mod_spatialite.
"""

import pytest
from django.contrib.gis.geos import Point, Polygon
from django.db import connections

import django_pool
from tests.conftest import _require
from tests.helpers import session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

GIS = ["postgis", "spatialite", "mysqlgis"]
FRANCE = Polygon.from_bbox((-5.0, 42.0, 8.0, 51.0))
FRANCE.srid = 4326


@pytest.fixture(params=GIS)
def gis(request, configure_pool):
    _require(request.param)
    from tests.gis.models import City

    City.objects.using(request.param).all().delete()
    configure_pool(request.param, pool_size=1, max_overflow=0, timeout=10)
    return request.param


def end_request(alias):
    connections[alias].close_if_unusable_or_obsolete()  # what request_finished does


def witness(alias):
    """Return the session's identity: the server's id, or the SQLite connection object's."""
    return session_id(alias)


def test_geometries_on_one_reused_connection(gis):
    from tests.gis.models import City, Region

    connection = connections[gis]
    # Request 1: a temporary table (session state) and a geometry.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE dp_witness (n integer)")
        cursor.execute("INSERT INTO dp_witness VALUES (1)")
    first = witness(gis)
    City.objects.using(gis).create(name="Paris", point=Point(2.3522, 48.8566, srid=4326))
    end_request(gis)
    assert connection.connection is None  # really given back

    # Request 2: the same session, still able to write and query geometries.
    City.objects.using(gis).create(name="Berlin", point=Point(13.405, 52.52, srid=4326))
    Region.objects.using(gis).create(name="France", area=FRANCE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT n FROM dp_witness")
        assert list(cursor.fetchall()) == [(1,)]
    assert witness(gis) == first
    end_request(gis)

    # Request 3: spatial lookups, geometry round trip, a spatial function.
    inside = City.objects.using(gis).filter(point__within=FRANCE).values_list("name", flat=True)
    assert list(inside) == ["Paris"]
    region = Region.objects.using(gis).get()
    assert list(City.objects.using(gis).filter(point__intersects=region.area)) == [
        City.objects.using(gis).get(name="Paris")
    ]
    paris = City.objects.using(gis).get(name="Paris")
    assert paris.point.srid == 4326 and paris.point.equals_exact(Point(2.3522, 48.8566), 1e-9)
    assert witness(gis) == first
    end_request(gis)

    stats = django_pool.get_stats(gis)[gis]
    # One physical connection, opened (and set up by GeoDjango) once, lent every time.
    assert stats["connections_num"] == 1 and stats["checkouts_num"] >= 3


def test_each_new_connection_gets_geodjango_setup(gis, configure_pool):
    """Connections opened while another is lent (two at once) are set up too."""
    from tests.gis.models import City

    configure_pool(gis, pool_size=2, max_overflow=0, timeout=10)
    main = connections[gis]
    witness(gis)  # the main wrapper holds one connection
    other = main.copy()  # a second wrapper holding a second connection
    try:
        other.ensure_connection()
        City.objects.using(gis).create(name="Lyon", point=Point(4.8357, 45.764, srid=4326))
        with other.cursor() as cursor:
            # A spatial function on the second physical connection.
            cursor.execute(
                f"SELECT {'ST_AsText' if gis != 'spatialite' else 'AsText'}"
                "(ST_GeomFromText('POINT(1 2)', 4326))"
            )
            assert cursor.fetchone()[0].replace(" ", "") == "POINT(12)"
        second = other.connection
        assert second is not main.connection
    finally:
        other.close()
    end_request(gis)
    assert django_pool.get_stats(gis)[gis]["connections_num"] == 2
    # Both pooled connections can now store geometries, whichever comes back.
    for name in ("Nice", "Lille"):
        City.objects.using(gis).create(name=name, point=Point(7.26, 43.7, srid=4326))
        end_request(gis)
    assert City.objects.using(gis).filter(point__within=FRANCE).count() == 3
