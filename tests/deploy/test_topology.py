"""The deployment of deploy/ with real processes: PostgreSQL, two replicas, nginx terminating TLS, real agents.

The harness (bench/topology.py) runs nginx with deploy/nginx/kiemke.conf.template itself, so the documented
configuration is the one tested.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from bench.topology import Topology, nginx_binary, topology, write_ca
from server.clock import local_today
from server.config import Settings
from tests.agent.realprocs import Agent, report_id_of, wait_for
from tests.server.conftest import new_postgres_database

pytestmark = pytest.mark.slow
AGENTS = 3


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """Two replicas on a new PostgreSQL database behind nginx, with a unit and a token."""
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run installs it)")
    # Every replica schedules the report snapshots; yesterday (the district's) is a cut-off due at start-up.
    yesterday = local_today(Settings.from_env().tz) - timedelta(days=1)
    jobs = {"KIEMKE_SCHEDULER": "true", "KIEMKE_REPORT_CUTOFFS": yesterday.strftime("%m-%d")}
    with new_postgres_database() as url, \
            topology(url, tmp_path_factory.mktemp("topology"), replicas=2, env=jobs) as topo:
        sheet = Path(topo.env["KIEMKE_DATA_DIR"]).parent / "units.csv"
        sheet.write_text("code,name,kind\nUBND,UBND huyện,district\n", encoding="utf-8")
        done = topo.cli("units", "import", str(sheet))
        assert done.returncode == 0, done.stderr
        yield topo


def _token(topo: Topology) -> str:
    done = topo.cli("token", "create", "--unit", "UBND", "--days", "1")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _received(topo: Topology) -> list[uuid.UUID]:
    engine = sa.create_engine(topo.database_url)
    try:
        with engine.connect() as conn:
            return [uuid.UUID(str(r)) for r in conn.execute(sa.text("SELECT report_id FROM received_report")).scalars()]
    finally:
        engine.dispose()


def _accepted(topo: Topology, replica: str) -> float:
    answer = requests.get(replica + "/metrics", headers={"Authorization": f"Bearer {topo.metrics_token}"}, timeout=10)
    assert answer.status_code == 200
    return next(s.value for f in text_string_to_metric_families(answer.text) for s in f.samples
                if s.name == "kiemke_reports_total" and s.labels == {"outcome": "accepted"})


def test_agents_report_once_through_the_proxy_and_both_replicas_serve(deployment: Topology, tmp_path: Path) -> None:
    topo = deployment
    wrong_ca = write_ca(tmp_path / "other-ca", name="not the district's CA")[0]
    stranger = Agent(tmp_path / "stranger")
    token = _token(topo)  # one token serves every PC of the unit
    refused = stranger.run("enroll", "--server", topo.url, "--token", token, "--ca", str(wrong_ca))
    assert refused.returncode == 4 and "tls" in refused.stderr.lower(), refused.stderr
    assert not (stranger.data_dir / "config.json").exists()

    delivered = []
    for n in range(AGENTS):
        agent = Agent(tmp_path / f"agent-{n}")
        done = agent.run("enroll", "--server", topo.url, "--token", token, "--ca", str(topo.ca))
        assert done.returncode == 0, done.stderr
        report = agent.run("report")
        assert report.returncode == 0 and "delivered" in report.stdout, report.stdout + report.stderr
        delivered.append(report_id_of(report.stdout))

    assert sorted(_received(topo)) == sorted(delivered)  # each report stored once
    assert sum(_accepted(topo, url) for url in topo.replica_urls) == AGENTS
    for log in topo.replica_logs:  # round robin: every replica answered agents' requests
        assert re.search(r'"POST /api/v1/(enroll|reports|heartbeat) HTTP/1\.1" 20[01]', log.read_text()), log

    health = requests.get(topo.url + "/api/v1/health", verify=str(topo.ca), timeout=10)
    assert health.json()["database"] == "ok"
    # per-process metrics are scraped on each replica's port, never through the proxy
    through_proxy = requests.get(topo.url + "/metrics", verify=str(topo.ca), timeout=10,
                                 headers={"Authorization": f"Bearer {topo.metrics_token}"})
    assert through_proxy.status_code == 404
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(topo.url + "/api/v1/health", verify=str(wrong_ca), timeout=10)


def _job_runs(topo: Topology) -> list[tuple[str, str]]:
    engine = sa.create_engine(topo.database_url)
    try:
        with engine.connect() as conn:
            return [(r.job, r.status) for r in conn.execute(sa.text("SELECT job, status FROM job_run"))]
    finally:
        engine.dispose()


def test_the_scheduled_report_is_made_once_across_replicas(deployment: Topology) -> None:
    def reports() -> list[tuple[str, str]]:
        return [r for r in _job_runs(deployment) if r[0].startswith("report-snapshots")]

    runs = wait_for(lambda: [r for r in reports() if r[1] != "running"], timeout=120, what="the scheduled report")
    assert runs == [("report-snapshots:*:vi", "done")]
    assert len(reports()) == 1  # the other replica lost the claim and made nothing
    # the alert evaluation ticks at start-up on both replicas too: one of them evaluates the slot
    evaluations = wait_for(lambda: [r for r in _job_runs(deployment) if r[0].startswith("alert-evaluation")
                                    and r[1] != "running"], timeout=120, what="the alert evaluation")
    assert {status for _, status in evaluations} == {"done"}
    engine = sa.create_engine(deployment.database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM report_snapshot")).scalar_one() == 1
    finally:
        engine.dispose()
