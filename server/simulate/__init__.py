"""The fleet simulator: many simulated agents enrolling and reporting over the real HTTP API (``simulate``)."""
