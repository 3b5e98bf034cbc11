"""An ENGINE derived from no backend django-pool supports."""
