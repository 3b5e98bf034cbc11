from django.db import models


class Note(models.Model):
    """One table per tenant schema: which one a query reads shows its search_path."""

    text = models.CharField(max_length=100)
