"""The HTTP API: one router per resource, mounted by ``server.main.create_app``."""
