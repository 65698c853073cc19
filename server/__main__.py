"""``python -m server`` is ``kiemke-server``."""

from server.cli import main

raise SystemExit(main())
