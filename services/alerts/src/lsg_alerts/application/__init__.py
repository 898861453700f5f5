"""Use cases of the alerts service, one module per capability (see the service README)."""
