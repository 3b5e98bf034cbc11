"""Pooled twins of Django's database backends; use them as ENGINE."""
