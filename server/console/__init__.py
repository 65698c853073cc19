"""The web console for the IT officer: server-rendered pages in Vietnamese (or English), no build step."""
