"""The inventory's vocabularies, declared once: every value a unit, device or figure breakdown can take, in the
order people see them, with the label key that words it.

Stored columns, spreadsheet imports, console forms and filters, commands, coverage and the report all take
their values from here; ``tests/server/test_vocab.py`` checks that every value has a label in both languages
in the catalogue that shows it (the console's ``server/console/i18n.py`` or the report's
``server/report/labels.py``). The values are public: spreadsheets, ``--json`` output and CSV columns carry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Catalogue = Literal["console", "report"]


@dataclass(frozen=True)
class Vocabulary:
    """The values of one field, in display order, and how their labels are keyed in a catalogue."""

    name: str
    values: tuple[str, ...]
    label_prefix: str  # the label of ``value`` is ``label_prefix + value``
    catalogue: Catalogue

    def label_key(self, value: str) -> str:
        """The catalogue key that words ``value``."""
        return f"{self.label_prefix}{value}"


# --- organisational units -------------------------------------------------------------------------------------

#: What an organisational unit is (the ``kind`` column of the units sheet and of ``org_unit``).
UNIT_KINDS = ("district", "department", "commune", "school", "other")
#: The unit kinds the report breaks figures down by, in its order; staff per computer is reported per kind
#: (``computers_per_staff:commune``), so these are also the staff kinds.
STAFF_KINDS = ("department", "commune", "school")
#: Unit kinds that run a one-stop shop (schools have none, so no breakdown for them).
SHOP_KINDS = ("department", "commune")
#: How a unit reaches the internet (the ``internet`` column of the units sheet).
INTERNET_LINKS = ("fibre", "other", "none")

# --- devices --------------------------------------------------------------------------------------------------

#: What a device is (the ``kind`` column of the assets sheet and of ``device``).
DEVICE_KINDS = ("desktop", "laptop", "server", "printer", "scanner", "photocopier", "camera", "network", "monitor",
                "other")
#: Device kinds that are computers: they run an agent and count in the computer figures.
COMPUTER_KINDS: frozenset[str] = frozenset({"desktop", "laptop", "server"})
#: Computers a member of staff works at (a server equips nobody).
STAFF_COMPUTER_KINDS: frozenset[str] = frozenset({"desktop", "laptop"})
#: Device kinds entered by hand; monitors come only from the computers' reports.
HAND_KINDS = tuple(kind for kind in DEVICE_KINDS if kind != "monitor")
#: Where a device stands in its life (the ``status`` column); only ``in_use`` devices count in the figures.
STATUSES = ("in_use", "spare", "broken", "retired")
IN_USE = "in_use"

# --- the one-stop shop ----------------------------------------------------------------------------------------

#: What a one-stop shop needs, in the report's order, with the device kinds that provide each.
SHOP_EQUIPMENT: dict[str, frozenset[str]] = {
    "computer": COMPUTER_KINDS,
    "printer": frozenset({"printer"}),
    "photocopier": frozenset({"photocopier"}),
    "scanner": frozenset({"scanner"}),
    "camera": frozenset({"camera"}),
}

#: Every vocabulary with the catalogue that labels it; the meta-test walks this.
VOCABULARIES: tuple[Vocabulary, ...] = (
    Vocabulary("unit kind", UNIT_KINDS, "unit_kind:", "console"),
    Vocabulary("internet link", INTERNET_LINKS, "internet:", "console"),
    Vocabulary("device kind", DEVICE_KINDS, "kind:", "console"),
    Vocabulary("device status", STATUSES, "status:", "console"),
    Vocabulary("staff kind", STAFF_KINDS, "kind:", "report"),
    Vocabulary("one-stop-shop equipment", tuple(SHOP_EQUIPMENT), "equipment:", "report"),
)


def describe(values: tuple[str, ...]) -> str:
    """``a, b or c``: the values as a column's description says them."""
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"
