"""Sub-commands of ``kiemke-server``: each module has ``register(subparsers)`` and imports heavy code lazily."""
