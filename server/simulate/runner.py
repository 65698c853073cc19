"""Run simulated agents against a server: enrol the new ones, then report on a schedule through a thread pool.

Every request goes to the given base URL only (no redirects followed), with TLS verification on (``ca`` names
a private CA's certificate). Each machine uses its own agent key and sends its own machine id; a report says
it was collected a few seconds to a minute and a half before it is sent, never before the agent enrolled,
so it stays valid under the server's clock rules. Answers are read as the real agent reads them
(``shared/protocol.py``): 201 accepted, 200 duplicate, 401/403 stop this machine until it enrols again,
another 4xx sets the report aside, no answer or a 5xx keeps it to send again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import requests

from server.clock import utcnow
from server.demo.fleet import report_at
from server.simulate.drift import DriftRates, step
from server.simulate.state import SimulatedAgent
from server.simulate.tally import Summary, Tally
from shared.protocol import ENROLL_PATH, REPORTS_PATH, EnrollRequest, EnrollResponse

Progress = Callable[[dict[str, int]], None]


@dataclass(frozen=True)
class Plan:
    """How the simulated fleet reports."""

    interval: float = 60.0  # seconds between two collections of one machine; 0: once each, at once
    duration: float | None = None  # seconds of reporting; None: one interval (each machine reports once)
    workers: int = 16  # concurrent requests
    resend_rate: float = 0.01  # share of accepted reports sent again, as when the first answer was lost
    timeout: float = 30.0
    rates: DriftRates = field(default_factory=DriftRates)

    def rounds(self) -> int:
        """How many times each machine collects."""
        if self.interval <= 0 or self.duration is None:
            return 1
        return max(1, int(self.duration // self.interval))


class Simulator:
    """Simulated agents of one server; ``enrol`` then ``run``."""

    def __init__(self, base_url: str, agents: list[SimulatedAgent], plan: Plan, *, ca: Path | None = None,
                 seed: int = 0, reports_path: str = REPORTS_PATH,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.base_url = base_url.rstrip("/")
        self.agents = agents
        self.plan = plan
        self.verify: bool | str = str(ca) if ca else True
        self.seed = seed
        self.reports_path = reports_path
        self.clock = clock
        self.tally = Tally()
        self._local = threading.local()
        self._locks = [threading.Lock() for _ in agents]
        self._pending: dict[int, bytes] = {}  # unanswered report per agent, sent again at its next collection
        self._stopped: set[int] = set()  # agents whose key was refused

    # --- HTTP ---------------------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        http: requests.Session | None = getattr(self._local, "session", None)
        if http is None:
            http = requests.Session()
            http.verify = self.verify
            http.trust_env = False  # loopback and the given URL only: no proxy from the environment
            self._local.session = http
        return http

    def _post(self, path: str, body: bytes, key: str | None = None) -> tuple[int | None, float, bytes]:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        start = time.perf_counter()
        try:
            answer = self._session().post(self.base_url + path, data=body, headers=headers,
                                          timeout=self.plan.timeout, allow_redirects=False)
        except requests.RequestException:
            return None, time.perf_counter() - start, b""
        return answer.status_code, time.perf_counter() - start, answer.content

    # --- enrolment ----------------------------------------------------------------------------------------

    def enrol(self, tokens: list[str], progress: Progress | None = None) -> None:
        """Enrol every agent without a key, agent ``i`` with ``tokens[i % len(tokens)]``."""
        todo = [i for i, a in enumerate(self.agents) if a.agent_key is None]
        if not todo:
            return
        if not tokens:
            raise ValueError(f"{len(todo)} simulated machines need an enrolment token (--token)")

        def one(i: int) -> None:
            agent = self.agents[i]
            pc = agent.state.pc
            request = EnrollRequest(token=tokens[i % len(tokens)], machine_id=pc.machine_id, hostname=pc.hostname)
            status, _, content = self._post(ENROLL_PATH, request.model_dump_json(exclude_none=True).encode())
            if status == 201:
                answer = EnrollResponse.model_validate_json(content)
                agent.agent_key, agent.unit_code = answer.agent_key, answer.unit_code
                # After the answer, so never before the server's own enrolment time (same clock on one host).
                agent.enrolled_at = self.clock()
                self.tally.add("enrolled")
            else:
                self.tally.add("enrolment_refused", status=status)
            if progress:
                progress(self.tally.snapshot())

        with ThreadPoolExecutor(max_workers=self.plan.workers) as pool:
            list(pool.map(one, todo))

    # --- reporting ----------------------------------------------------------------------------------------

    def _schedule(self, start: float) -> Iterator[tuple[float, int]]:
        """(monotonic due time, agent index), in time order: machines spread evenly over each interval."""
        live = [i for i, a in enumerate(self.agents) if a.agent_key]
        spacing = self.plan.interval / len(live) if live and self.plan.interval > 0 else 0.0
        for r in range(self.plan.rounds()):
            for n, i in enumerate(live):
                yield start + r * self.plan.interval + n * spacing, i

    def _collect(self, i: int) -> None:
        agent = self.agents[i]
        with self._locks[i]:
            if i in self._stopped or agent.agent_key is None:
                return
            rng = random.Random(f"{self.seed}-{agent.machine_id}-{agent.collections}")
            agent.collections += 1
            now = self.clock()
            at = now - timedelta(seconds=rng.uniform(2, 90))
            if agent.enrolled_at is not None and at < agent.enrolled_at:
                at = min(agent.enrolled_at, now)
            agent.state = step(agent.state, at, rng, self.plan.rates)
            kept = self._pending.pop(i, None)
            if kept is not None and not self._send(i, kept):
                return
            if not agent.state.reports:
                self.tally.add("offline")
                return
            body = report_at(agent.state.pc, at).model_dump_json().encode()
            if self._send(i, body) == "accepted" and rng.random() < self.plan.resend_rate:
                self.tally.add("resent")
                self._send(i, body)

    def _send(self, i: int, body: bytes) -> str | None:
        """Post one report; the answer's kind, or None when the machine must stop or keep the report."""
        key = self.agents[i].agent_key
        status, latency, _ = self._post(self.reports_path, body, key)
        self.tally.add("sent")
        if status == 201:
            self.tally.add("accepted", latency)
            return "accepted"
        if status == 200:
            self.tally.add("duplicate", latency)
            return "duplicate"
        if status is None or status >= 500:
            self.tally.add("errors", None if status is None else latency)
            self._pending[i] = body
            return None
        self.tally.add("refused", latency, status)
        if status in (401, 403):
            self._stopped.add(i)
            return None
        return "refused"

    def run(self, progress: Progress | None = None, tick: float = 0.25) -> Summary:
        """Report on the plan's schedule; the closing summary."""
        start = time.monotonic()
        in_flight = threading.BoundedSemaphore(self.plan.workers * 2)
        stop_ticker = threading.Event()

        def ticker() -> None:
            while not stop_ticker.wait(tick):
                if progress:
                    progress(self.tally.snapshot())

        def job(i: int) -> None:
            try:
                self._collect(i)
            finally:
                in_flight.release()

        watcher = threading.Thread(target=ticker, daemon=True)
        watcher.start()
        try:
            with ThreadPoolExecutor(max_workers=self.plan.workers) as pool:
                for due, i in self._schedule(start):
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    in_flight.acquire()
                    pool.submit(job, i)
        finally:
            stop_ticker.set()
            watcher.join()
        if progress:
            progress(self.tally.snapshot())
        retired = sum(1 for a in self.agents if a.state.retired)
        return self.tally.summary(len(self.agents), retired, time.monotonic() - start)
