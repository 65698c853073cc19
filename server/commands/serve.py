"""``kiemke-server serve``: run the API under uvicorn."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the ``serve`` sub-command."""
    parser = sub.add_parser("serve", help="run the server (API) under uvicorn")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                        help="server log level (default info; info logs every request)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Migrate once in this process, then serve."""
    import uvicorn

    from server.commands._common import open_db, settings

    settings()  # a refused setting (the SMTP and alert ones too) stops here, with its reason
    open_db().dispose()  # workers then find the schema ready
    # X-Forwarded-For/-Proto are believed only from KIEMKE_TRUSTED_PROXIES (uvicorn's default trusts 127.0.0.1).
    proxies = ",".join(str(net) for net in settings().trusted_proxies)
    uvicorn.run("server.main:app_from_env", factory=True, host=args.host, port=args.port, workers=args.workers,
                proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None, log_level=args.log_level)
    return 0
