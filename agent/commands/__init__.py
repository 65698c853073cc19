"""Sub-commands of ``kiemke-agent``: each module has ``register(subparsers)`` and imports heavy code lazily.

Keep these modules light: ``kiemke-agent collect`` must not pay for the HTTP client or the scheduler.
"""
