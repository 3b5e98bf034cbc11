"""Optional integrations: Prometheus."""
