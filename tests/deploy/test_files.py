"""Promises of deploy/: the compose file, the systemd replicas and the tested nginx template agree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bench.topology import render_nginx_site

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return data


def test_compose_runs_postgresql_two_replicas_and_the_tested_proxy_config() -> None:
    services = _compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["server"]["deploy"]["replicas"] >= 2
    assert services["server"]["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert services["server"]["environment"]["KIEMKE_SECRET_KEY"].startswith("${KIEMKE_SECRET_KEY:?")
    mounts = services["proxy"]["volumes"]
    assert "./nginx/kiemke.conf.template:/etc/nginx/templates/kiemke.conf.template:ro" in mounts
    # every value the template needs is given to the proxy container
    needed = set(re.findall(r"\$\{(KIEMKE_\w+)\}", (DEPLOY / "nginx" / "kiemke.conf.template").read_text()))
    assert needed <= set(services["proxy"]["environment"])
    assert (DEPLOY / "Dockerfile").is_file()


def test_systemd_replicas_listen_on_their_instance_port_on_loopback() -> None:
    unit = (DEPLOY / "systemd" / "kiemke-server@.service").read_text(encoding="utf-8")
    assert "serve --host 127.0.0.1 --port %i" in unit
    assert "WantedBy=kiemke-server.target" in unit and (DEPLOY / "systemd" / "kiemke-server.target").is_file()


def test_the_template_renders_every_replica_and_keeps_nginx_variables(tmp_path: Path) -> None:
    site = render_nginx_site([8001, 8002], 443, tmp_path / "cert.pem", tmp_path / "key.pem")
    assert "server 127.0.0.1:8001; server 127.0.0.1:8002;" in site
    assert f"ssl_certificate {tmp_path / 'cert.pem'};" in site
    assert "proxy_set_header Host $host;" in site and "${" not in site.split("upstream", 1)[1]
