from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "tests.tenants.customers"
    label = "customers"
