"""The catalogue recognises the products Vietnamese offices run."""

from __future__ import annotations

import pytest

from agent.collectors.antivirus import CATALOGUE, known_by_program, known_by_service


@pytest.mark.parametrize(("display", "product"), [
    ("Bkav Pro", "Bkav"), ("BkavHome", "Bkav"), ("CMC Antivirus Pro", "CMC Antivirus"),
    ("Kaspersky Endpoint Security for Windows", "Kaspersky"), ("Dr.Web Security Space", "Dr.Web"),
    ("ESET NOD32 Antivirus", "ESET"), ("Bitdefender Endpoint Security Tools", "Bitdefender"),
    ("Avast Free Antivirus", "Avast"), ("AVG AntiVirus FREE", "AVG"), ("Norton 360", "Symantec/Norton"),
])
def test_programs(display: str, product: str) -> None:
    known = known_by_program(display)
    assert known is not None and known.name == product


@pytest.mark.parametrize(("service", "product"), [
    ("AVP.KES.12.3", "Kaspersky"), ("AVP21.3", "Kaspersky"), ("kavfs", "Kaspersky"), ("ekrn", "ESET"),
    ("BkavService", "Bkav"), ("DrWebAVService", "Dr.Web"), ("VSSERV", "Bitdefender"), ("EPSecurityService",
                                                                                       "Bitdefender"),
])
def test_services(service: str, product: str) -> None:
    known = known_by_service(service)
    assert known is not None and known.name == product


@pytest.mark.parametrize("name", ["Microsoft Office", "klnagent", "CMC Telecom Updater", "Spooler", "Avastar"])
def test_unrelated_names_do_not_match(name: str) -> None:
    assert known_by_program(name) is None and known_by_service(name) is None


def test_catalogue_names_are_unique() -> None:
    names = [k.name for k in CATALOGUE]
    assert len(names) == len(set(names))
