from django.contrib.gis.db import models


class City(models.Model):
    name = models.CharField(max_length=100)
    point = models.PointField(srid=4326)


class Region(models.Model):
    name = models.CharField(max_length=100)
    area = models.PolygonField(srid=4326)
