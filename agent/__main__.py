"""``python -m agent`` is ``kiemke-agent``."""

from agent.cli import main

raise SystemExit(main())
