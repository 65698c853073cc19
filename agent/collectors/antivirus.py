"""Antivirus products: what is installed, whether it protects, whether its signatures are current.

The catalogue lists products common in Vietnamese offices that often do not register with Windows Security
Center (Bkav, CMC, some Kaspersky and Dr.Web editions) or run on Windows Server, where Security Center does
not exist. They are found by their installed-program names and their service names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.schema import AntivirusProduct

if TYPE_CHECKING:
    from agent.collectors import PlatformModule
    from agent.collectors._source import Errors, Source

FAMILY = "antivirus"


@dataclass(frozen=True)
class KnownProduct:
    """One product of the catalogue: its display name and how to recognise it."""

    name: str
    program: re.Pattern[str]  # matched against installed programs' and Security Center's display names
    service: re.Pattern[str]  # matched against service names (not display names, which are translated)


def _p(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


CATALOGUE: tuple[KnownProduct, ...] = (
    KnownProduct("Bkav", _p(r"\bbkav"), _p(r"^bkav")),
    KnownProduct("CMC Antivirus", _p(r"\bcmc\b.*(anti.?virus|security|endpoint)"), _p(r"^cmc(av|sec|agent)")),
    KnownProduct("Kaspersky", _p(r"kaspersky"), _p(r"^(avp(\.\w+)*[\d.]*|kavfs\w*|ksde\w*|kavfsslp)$")),
    KnownProduct("Dr.Web", _p(r"dr\.?\s?web"), _p(r"^drweb")),
    KnownProduct("ESET", _p(r"\beset\b"), _p(r"^ekrn$")),
    KnownProduct("Bitdefender", _p(r"bitdefender"), _p(r"^(vsserv|epsecurityservice|epredline|bdredline)$")),
    KnownProduct("Avast", _p(r"\bavast\b"), _p(r"^(avast!? antivirus|avastsvc)$")),
    KnownProduct("AVG", _p(r"\bavg\b.*(anti.?virus|security)"), _p(r"^avg(svc|wd)$")),
    KnownProduct("Symantec/Norton", _p(r"symantec endpoint|\bnorton\b"), _p(r"^(sepmasterservice|nortonsecurity)$")),
    KnownProduct("McAfee", _p(r"mcafee|trellix endpoint"), _p(r"^(mfemms|mfefire|mcshield)$")),
    KnownProduct("Trend Micro", _p(r"trend micro|apex one|officescan"), _p(r"^(ntrtscan|tmlisten)$")),
    KnownProduct("Sophos", _p(r"sophos.*(endpoint|anti.?virus|intercept)"), _p(r"^(savservice|sophos ?mcs ?agent)$")),
    KnownProduct("Malwarebytes", _p(r"malwarebytes"), _p(r"^mbamservice$")),
)


def known_by_program(display_name: str) -> KnownProduct | None:
    """The catalogue entry an installed program's (or Security Center product's) name belongs to."""
    return next((k for k in CATALOGUE if k.program.search(display_name)), None)


def known_by_service(service_name: str) -> KnownProduct | None:
    """The catalogue entry a service name belongs to."""
    return next((k for k in CATALOGUE if k.service.search(service_name.strip())), None)


def collect(platform: PlatformModule, src: Source, errors: Errors) -> list[AntivirusProduct]:
    """Antivirus products of ``src``; failures land in ``errors``."""
    return platform.antivirus(src, errors)
