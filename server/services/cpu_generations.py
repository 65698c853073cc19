"""When a CPU was launched, read from its brand string: the floor under any estimate of a computer's age.

A computer cannot be older than its processor, and office PCs are bought within a year or two of the
processor's launch, so the launch year bounds the age from below and exposes a BIOS that was updated years
later. Years are the launch year of the exact model where it differs from its family (refreshes, late
low-end parts), else of the family. Unknown brands give ``None``: guessing would put a wrong age in a report.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

_NOISE = re.compile(r"\((?:R|TM|tm|r)\)|®|™")
_SPACES = re.compile(r"\s+")
_DASH = re.compile(r" ?- ?")

Ranges = tuple[tuple[int, int, int], ...]  # (lowest model number, highest, launch year), first match wins


def _from_ranges(number: int, ranges: Ranges) -> int | None:
    for low, high, year in ranges:
        if low <= number <= high:
            return year
    return None


def normalise(brand: str) -> str:
    """Brand string without (R)/(TM) marks and repeated spaces: 'Intel Core i5-4590 CPU @ 3.30GHz'."""
    # 'AMD FX(tm)-8350' must read 'AMD FX-8350', while 'Core(TM)2 Duo' reads 'Core 2 Duo'.
    return _DASH.sub("-", _SPACES.sub(" ", _NOISE.sub(" ", brand))).strip()


# --- Apple silicon -------------------------------------------------------------------------------------------

_APPLE = re.compile(r"\bApple M(\d)\b")
_APPLE_YEARS = {1: 2020, 2: 2022, 3: 2023, 4: 2024, 5: 2025}


def _apple(text: str) -> int | None:
    match = _APPLE.search(text)
    return _APPLE_YEARS.get(int(match.group(1))) if match else None


# --- Intel Core i3/i5/i7/i9 ----------------------------------------------------------------------------------

# 'Intel Core i5-4590 CPU', 'Intel Core i5-1135G7', 'Intel Core i3-N305'; first generation: 'Intel Core i5 CPU 650',
# 'Intel Core i7 CPU Q 720', 'Intel Core i5 CPU M 520'.
_CORE_I = re.compile(r"\bCore i([3579])-(N?)(\d{3,5})([A-Z]{0,3}\d?)\b")
_CORE_I_FIRST = re.compile(r"\bCore i([3579]) CPU (?:([A-Z]) )?(\d{3})([A-Z]{0,2})\b")
_MOBILE_MARKS = frozenset("UYMHGP")

# Models launched in another year than their generation's first parts (refreshes, HEDT platforms).
_CORE_EXACT = {
    # Sandy Bridge-E carries 3xxx numbers but launched with (or soon after) the second generation.
    "3820": 2012, "3930K": 2011, "3960X": 2011, "3970X": 2012,
    # Haswell Refresh, 2014.
    "4150": 2014, "4160": 2014, "4170": 2014, "4350": 2014, "4360": 2014, "4370": 2014, "4460": 2014,
    "4590": 2014, "4690": 2014, "4690K": 2014, "4790": 2014, "4790K": 2014, "4785T": 2014,
    "4210U": 2014, "4210M": 2014, "4210H": 2014, "4510U": 2014, "4710HQ": 2014, "4710MQ": 2014,
    "4720HQ": 2015, "4030U": 2014, "4025U": 2014, "4120U": 2014, "4310U": 2014, "4310M": 2014,
    # Haswell-E and Broadwell-E sit in the 5th/6th number series.
    "5820K": 2014, "5930K": 2014, "5960X": 2014,
    "6800K": 2016, "6850K": 2016, "6900K": 2016, "6950X": 2016,
    # Coffee Lake's first wave (October 2017); the rest of the 8th generation desktop parts came in 2018.
    "8100": 2017, "8350K": 2017, "8400": 2017, "8600K": 2017, "8700": 2017, "8700K": 2017,
    "8250U": 2017, "8350U": 2017, "8550U": 2017, "8650U": 2017, "8365U": 2019, "8665U": 2019,
    # Coffee Lake Refresh's first unlocked parts (October 2018).
    "9600K": 2018, "9700K": 2018, "9900K": 2018,
    "10310U": 2020, "10610U": 2020, "10810U": 2020,
    "1155G7": 2021, "1195G7": 2021, "1125G4": 2021,
    "13900KS": 2023, "14900KS": 2024,
}


def _core_year(generation: int, digits: str, suffix: str) -> int | None:
    exact = _CORE_EXACT.get(digits + suffix, _CORE_EXACT.get(digits))
    if exact is not None and (not suffix or digits + suffix in _CORE_EXACT or not _MOBILE_MARKS & set(suffix)):
        return exact
    mobile = bool(_MOBILE_MARKS & set(suffix))
    unlocked_desktop = suffix in {"K", "KF", "KS"}
    if generation == 2:
        return 2011
    if generation == 3:
        return 2012
    if generation == 4:
        return 2013
    if generation == 5:
        return 2015
    if generation == 6:
        return 2015
    if generation == 7:
        return 2016 if suffix in {"U", "Y"} else 2017  # Kaby Lake U/Y came in August 2016
    if generation == 8:
        return 2018
    if generation == 9:
        return 2018 if suffix in {"X", "XE"} else 2019
    if generation == 10:
        if len(digits) == 4 or suffix in {"U", "Y", "X", "XE"}:  # Ice Lake 10xxG and Comet Lake U: 2019
            return 2019
        return 2020
    if generation == 11:
        return 2020 if len(digits) == 4 else 2021  # Tiger Lake 11xxG7 in September 2020
    if generation == 12:
        return 2021 if unlocked_desktop else 2022
    if generation == 13:
        return 2022 if unlocked_desktop and not mobile else 2023
    if generation == 14:
        return 2023 if unlocked_desktop and not mobile else 2024
    return None


def _core_i(text: str) -> int | None:
    first = _CORE_I_FIRST.search(text)
    if first:  # Nehalem/Westmere with three-digit numbers
        tier, letter, digits, suffix = first.group(1), first.group(2) or "", first.group(3), first.group(4)
        if tier == "7" and digits[0] == "9" and not letter and not suffix:
            return 2010 if int(digits) >= 970 else 2008
        if letter == "Q" or suffix in {"QM", "XM"}:
            return 2009 if digits[1] == "2" else 2010
        if (tier == "7" and digits[0] == "8") or (tier == "5" and digits[0] == "7"):
            return 2009
        return 2010
    match = _CORE_I.search(text)
    if not match:
        return None
    atom_class, digits, suffix = match.group(2), match.group(3), match.group(4)
    if atom_class:  # i3-N300/N305: Alder Lake-N, 2023
        return 2023
    if len(digits) == 3:
        return 2010
    # Five digits, or four starting with 1 (mobile 10th-13th generation, 'i5-1135G7'): two-digit generation.
    generation = int(digits[:2]) if len(digits) == 5 or digits[0] == "1" else int(digits[0])
    return _core_year(generation, digits, suffix)


# 'Core m3-7Y30', 'Core M-5Y10', 'Core i5-7Y54', 'Core m3-8100Y'
_CORE_Y = re.compile(r"\bCore (?:[mM][357]?|i[357])-(\d)Y\d\d\b")
_CORE_M_MODERN = re.compile(r"\bCore m[357]-(\d)1\d\dY\b")
_CORE_Y_YEARS = {5: 2014, 6: 2015, 7: 2016, 8: 2018}


def _core_y(text: str) -> int | None:
    match = _CORE_Y.search(text) or _CORE_M_MODERN.search(text)
    return _CORE_Y_YEARS.get(int(match.group(1))) if match else None


# --- Intel Core Ultra and the plain 'Core 5 120U' --------------------------------------------------------------

_CORE_ULTRA = re.compile(r"\bCore Ultra [3579] (\d)\d\d([A-Z]{0,2})\b")
_CORE_PLAIN = re.compile(r"\bCore [3579] (\d)\d\d([A-Z]{0,2})\b")


def _core_ultra(text: str) -> int | None:
    match = _CORE_ULTRA.search(text)
    if match:
        series, suffix = int(match.group(1)), match.group(2)
        if series == 1:
            return 2023  # Meteor Lake, December 2023
        if series == 2:
            # Lunar Lake (V) and Arrow Lake desktop (K) came in autumn 2024; Arrow Lake H/U and non-K in 2025.
            return 2024 if suffix in {"V", "K", "KF"} else 2025
        if series == 3:
            return 2026  # Panther Lake
        return None
    match = _CORE_PLAIN.search(text)
    if match:
        return {1: 2024, 2: 2025}.get(int(match.group(1)))
    return None


# --- Core 2 and Core Duo ---------------------------------------------------------------------------------------

_CORE2 = re.compile(r"\bCore ?2 (?:Duo |Quad |Extreme |Solo )?(?:CPU )?([A-Z]{0,2})(\d{3,4})\b")
_CORE2_YEARS: dict[str, Ranges] = {
    "": ((4000, 4999, 2007), (6000, 6999, 2006)),  # early E6x00 brand strings omit the letter
    "E": ((4000, 4999, 2007), (6000, 6999, 2006), (7000, 7999, 2008), (8000, 8999, 2008)),
    "T": ((5000, 5999, 2006), (7000, 7999, 2006), (6000, 6999, 2009), (8000, 8999, 2007), (9000, 9999, 2008)),
    "P": ((7000, 9999, 2008),),
    "SU": ((3000, 9999, 2008),),
    "SL": ((9000, 9999, 2008),),
    "SP": ((9000, 9999, 2008),),
    "U": ((7000, 7999, 2007),),
    "L": ((7000, 7999, 2007),),
    "Q": ((6000, 6999, 2007), (8000, 9999, 2008)),
    "QX": ((6000, 6999, 2006), (9000, 9999, 2007)),
    "X": ((6000, 6999, 2006), (7000, 7999, 2007), (9000, 9999, 2008)),
}
_CORE_DUO = re.compile(r"\bCore (?:Duo|Solo) (?:CPU )?[TLU](\d{4})\b")


def _core2(text: str) -> int | None:
    match = _CORE2.search(text)
    if match:
        return _from_ranges(int(match.group(2)), _CORE2_YEARS.get(match.group(1), ()))
    if _CORE_DUO.search(text):
        return 2006
    return None


# --- Pentium and Celeron ---------------------------------------------------------------------------------------

# The first model-like token after the brand: 'G4400', 'Gold G5400', 'Silver N5000', 'Gold 7505', 'E5700', '4415U'.
_MODEL_AFTER = r"(?:Gold |Silver |Dual-Core |Dual |CPU )*([A-Z]?)(\d{3,4})([A-Z]?)\b"
_PENTIUM = re.compile(r"\bPentium " + _MODEL_AFTER)
_CELERON = re.compile(r"\bCeleron " + _MODEL_AFTER)

_PENTIUM_EXACT: dict[str, int] = {
    "G640": 2012, "G645": 2012, "G870": 2012, "G2120": 2012,
    "G3220": 2013, "G3420": 2013, "G3430": 2013, "G3260": 2015, "G3470": 2015,
    "G5420": 2019, "G5620": 2019, "G6405": 2021, "G6505": 2021, "G6605": 2021,
    "N3510": 2013, "N3520": 2013, "N3530": 2014, "N3540": 2014, "N3700": 2015,
    "4417U": 2019, "2020M": 2012, "2117U": 2012, "2127U": 2013, "B970": 2012, "B980": 2012,
    "E5200": 2008, "E5300": 2008, "E5400": 2009, "E6600": 2010, "E6700": 2010, "E6800": 2010,
}
_PENTIUM_RANGES: dict[str, Ranges] = {
    "G": (
        (600, 899, 2011), (2000, 2099, 2013), (2100, 2199, 2013), (3200, 3299, 2014), (3400, 3499, 2014),
        (4400, 4559, 2015), (4560, 4699, 2017), (5400, 5699, 2018), (6400, 6699, 2020), (7400, 7499, 2022),
    ),
    "N": ((3500, 3599, 2013), (3700, 3799, 2016), (4200, 4299, 2016), (5000, 5029, 2017), (5030, 5099, 2019),
          (6000, 6099, 2021)),
    "J": ((2800, 2999, 2013), (3700, 3799, 2016), (4200, 4299, 2016), (5000, 5029, 2017), (5030, 5099, 2019),
          (6000, 6999, 2021)),
    "": ((900, 999, 2011), (2000, 2199, 2012), (3500, 3599, 2013), (3800, 3899, 2015), (4400, 4409, 2015),
         (4410, 4419, 2017), (5400, 5499, 2019), (6400, 6499, 2019), (7500, 7599, 2020), (8500, 8599, 2022)),
    "B": ((900, 999, 2011),),
    "P": ((6000, 6999, 2010),),
    "E": ((2000, 2999, 2007), (5000, 5999, 2010), (6000, 6999, 2009)),
    "T": ((2000, 2999, 2007), (3000, 3999, 2008), (4000, 4999, 2009)),
}
_PENTIUM_OLD = (("Pentium III", 1999), ("Pentium 4", 2002), ("Pentium M", 2003), ("Pentium D", 2005))

_CELERON_EXACT: dict[str, int] = {
    "G465": 2012, "G470": 2013, "G550": 2012, "G555": 2012, "G3930": 2017, "G3950": 2017,
    "G4930": 2019, "G4950": 2019, "G5905": 2020, "G5925": 2020,
    "N2807": 2014, "N2808": 2014, "N2830": 2013, "N2840": 2014, "N2940": 2014,
    "N3000": 2015, "N3050": 2015, "N3060": 2016, "J3060": 2016, "N3150": 2015, "N3160": 2016, "J3160": 2016,
    "2957U": 2014, "2970M": 2014, "2980U": 2014, "3867U": 2019, "B820": 2012, "B830": 2012, "B815": 2012,
    "E3400": 2010, "877": 2012, "887": 2012,
}
_CELERON_RANGES: dict[str, Ranges] = {
    "G": ((400, 599, 2011), (1600, 1699, 2013), (1800, 1899, 2014), (3900, 3929, 2015), (3930, 3999, 2017),
          (4900, 4929, 2018), (4930, 4999, 2019), (5900, 5999, 2020), (6900, 6999, 2022)),
    "J": ((1000, 1999, 2013), (3000, 3199, 2016), (3300, 3499, 2016), (4000, 4019, 2017), (4020, 4099, 2019),
          (4100, 4119, 2017), (4120, 4199, 2019), (6000, 6999, 2021)),
    "N": ((2800, 2999, 2013), (3000, 3199, 2015), (3300, 3499, 2016), (4000, 4019, 2017), (4020, 4099, 2019),
          (4100, 4119, 2017), (4120, 4199, 2019), (4500, 4599, 2021), (5000, 5199, 2021), (6000, 6299, 2021)),
    "": ((800, 899, 2011), (1000, 1099, 2013), (2900, 2999, 2013), (3200, 3299, 2015), (3700, 3799, 2015),
         (3850, 3859, 2015), (3860, 3869, 2017), (3950, 3959, 2015), (3960, 3969, 2017), (4200, 4299, 2019),
         (5200, 5299, 2020), (6300, 6399, 2020), (7300, 7399, 2022)),
    "B": ((800, 899, 2011),),
    "E": ((1000, 1999, 2008), (3000, 3999, 2009)),
    "T": ((1000, 1999, 2007), (3000, 3199, 2009), (3200, 3599, 2010)),
}


def _model_table(
    pattern: re.Pattern[str], exact: dict[str, int], ranges: dict[str, Ranges]
) -> Callable[[str], int | None]:
    def lookup(text: str) -> int | None:
        match = pattern.search(text)
        if not match:
            return None
        letter, number, suffix = match.groups()
        found = exact.get(letter + number + suffix, exact.get(letter + number))
        if found is not None:
            return found
        return _from_ranges(int(number), ranges.get(letter, ()))

    return lookup


_pentium_model = _model_table(_PENTIUM, _PENTIUM_EXACT, _PENTIUM_RANGES)
_celeron_model = _model_table(_CELERON, _CELERON_EXACT, _CELERON_RANGES)


def _pentium(text: str) -> int | None:
    if "Pentium" not in text:
        return None
    found = _pentium_model(text)
    if found is not None:
        return found
    for name, year in _PENTIUM_OLD:
        if re.search(rf"\b{name}\b", text):
            return year
    return None


def _celeron(text: str) -> int | None:
    return _celeron_model(text) if "Celeron" in text else None


# 'Intel N100', 'Intel Processor N200': Alder Lake-N (2023); N150/N250 are the 2025 Twin Lake refresh.
_INTEL_N = re.compile(r"\bIntel (?:Processor )?N(\d{2,3})\b")


def _intel_n(text: str) -> int | None:
    match = _INTEL_N.search(text)
    if not match:
        return None
    return 2025 if match.group(1) in {"150", "250"} else 2023


# --- Atom and Xeon ---------------------------------------------------------------------------------------------

_ATOM = re.compile(r"\bAtom (?:CPU )?(?:x[57]-)?([A-Z])(\d{3,4})")
_ATOM_RANGES: dict[str, Ranges] = {
    "N": ((200, 299, 2008), (400, 599, 2010), (2000, 2999, 2011)),
    "D": ((400, 599, 2010), (2000, 2999, 2011)),
    "Z": ((500, 599, 2008), (2000, 2999, 2012), (3000, 3999, 2014), (8000, 8299, 2015), (8300, 8999, 2016)),
    "C": ((2000, 2999, 2013), (3000, 3999, 2017)),
}


def _atom(text: str) -> int | None:
    match = _ATOM.search(text)
    return _from_ranges(int(match.group(2)), _ATOM_RANGES.get(match.group(1), ())) if match else None


_XEON_E3E5E7 = re.compile(r"\bXeon (?:CPU )?E([357])-(\d{4})[A-Z]?L?(?: (?:v(\d)|0))?")
_XEON_E3_VERSIONS = {1: 2011, 2: 2012, 3: 2013, 4: 2015, 5: 2015, 6: 2017}
_XEON_E5_VERSIONS = {1: 2012, 2: 2013, 3: 2014, 4: 2016}
_XEON_E7_VERSIONS = {1: 2011, 2: 2014, 3: 2015, 4: 2016}
_XEON_E2 = re.compile(r"\bXeon (?:CPU )?E-2(\d)\d\d")
_XEON_SCALABLE = re.compile(r"\bXeon (?:Bronze|Silver|Gold|Platinum) \d(\d)\d\d")
_XEON_W = re.compile(r"\bXeon (?:CPU )?W-([123])(\d)\d\d")
_XEON_OLD = re.compile(r"\bXeon (?:CPU )?[EXLW](\d\d)\d\d\b")
_XEON_OLD_YEARS = {"53": 2006, "54": 2008, "55": 2009, "56": 2010, "34": 2009, "35": 2009, "36": 2010}


def _xeon(text: str) -> int | None:
    if "Xeon" not in text:
        return None
    match = _XEON_E3E5E7.search(text)
    if match:
        family, version = match.group(1), int(match.group(3) or 1)
        table = {"3": _XEON_E3_VERSIONS, "5": _XEON_E5_VERSIONS, "7": _XEON_E7_VERSIONS}[family]
        return table.get(version)
    match = _XEON_E2.search(text)
    if match:
        return {1: 2018, 2: 2019, 3: 2021, 4: 2023}.get(int(match.group(1)))
    match = _XEON_SCALABLE.search(text)
    if match:
        return {1: 2017, 2: 2019, 3: 2021, 4: 2023, 5: 2023}.get(int(match.group(1)))
    match = _XEON_W.search(text)
    if match:
        key = match.group(1) + match.group(2)
        return {"21": 2017, "22": 2019, "12": 2020, "13": 2021, "33": 2021, "24": 2023, "34": 2023}.get(key)
    match = _XEON_OLD.search(text)
    return _XEON_OLD_YEARS.get(match.group(1)) if match else None


# --- AMD -------------------------------------------------------------------------------------------------------

_RYZEN_AI = re.compile(r"\bRyzen AI (Max\+? )?")
_RYZEN = re.compile(r"\bRyzen (?:Threadripper )?(?:PRO )?(?:[3579] )?(?:PRO )?(\d)(\d{3})([A-Z0-9]*)")
_RYZEN_SERIES = {1: 2017, 2: 2018, 3: 2019, 4: 2020, 5: 2021, 6: 2022, 7: 2023, 8: 2024, 9: 2024}
_RYZEN_EXACT = {
    "2500U": 2017, "2700U": 2017, "3250U": 2020, "3450U": 2020, "3990X": 2020,
    "4100": 2022, "4500": 2022,
    "5600X": 2020, "5800X": 2020, "5900X": 2020, "5950X": 2020,
    "5500": 2022, "5600": 2022, "5700X": 2022, "5800X3D": 2022, "5625U": 2022, "5425U": 2022, "5600X3D": 2023,
    "5700X3D": 2024,
    "7600X": 2022, "7700X": 2022, "7900X": 2022, "7950X": 2022, "7520U": 2022, "7320U": 2022,
    "9600": 2025, "9900X3D": 2025, "9950X3D": 2025,
}


def _ryzen(text: str) -> int | None:
    if "Ryzen" not in text:
        return None
    ai = _RYZEN_AI.search(text)
    if ai:
        return 2025 if ai.group(1) else 2024
    if re.search(r"\bRyzen Z1\b", text):
        return 2023
    match = _RYZEN.search(text)
    if not match:
        return None
    series, rest, suffix = match.groups()
    exact = _RYZEN_EXACT.get(series + rest + suffix)
    return exact if exact is not None else _RYZEN_SERIES.get(int(series))


_ATHLON_NUMBERED = re.compile(r"\bAthlon (?:Silver |Gold |PRO )?(\d{3,4})([A-Z]{0,2})\b")


def _athlon(text: str) -> int | None:
    if "Athlon" not in text:
        return None
    if re.search(r"\bAthlon 64 X2\b", text):
        return 2005
    if re.search(r"\bAthlon 64\b", text):
        return 2003
    if re.search(r"\bAthlon II\b", text):
        return 2009
    quad = re.search(r"\bAthlon X4 (\d)\d\d", text)
    if quad:
        return 2017 if quad.group(1) == "9" else 2015
    match = _ATHLON_NUMBERED.search(text)
    if match:
        number, suffix = int(match.group(1)), match.group(2)
        if 200 <= number <= 299 and suffix.startswith("GE"):
            return 2018
        if 300 <= number <= 399:  # 300GE, 320GE, 300U
            return 2019
        if number == 3000:
            return 2019
        if 3050 <= number <= 3199:  # Silver 3050U, Gold 3150U/3150G
            return 2020
        if 5000 <= number <= 5999:  # Kabini desktop 5150/5350/5370
            return 2014
        if 7000 <= number <= 7999:  # Mendocino, Silver 7120U
            return 2022
    if re.search(r"\bAthlon Dual Core\b", text):
        return 2008
    return None


_APU = re.compile(r"\bA(?:4|6|8|9|10|12)(?: PRO)?-(\d)(\d{3})([A-Z]?)")
_APU_SERIES = {3: 2011, 4: 2012, 5: 2012, 6: 2013, 7: 2014, 8: 2015, 9: 2016}
_APU_EXACT = {"4000": 2013, "4020": 2015, "5000": 2013, "5100": 2013, "5200": 2013, "5350": 2013,
              "6210": 2014, "6310": 2014, "6410": 2014, "7860": 2016, "7890": 2016, "9120": 2017, "9220": 2017,
              "9420": 2017, "9125": 2019, "9225": 2019, "9425": 2019}
_AMD_E = re.compile(r"\bE([12])-(\d)\d{3}")
_AMD_E_SERIES = {1: 2012, 2: 2013, 3: 2011, 6: 2014, 7: 2015, 9: 2016}
_AMD_BOBCAT = re.compile(r"\b[CE]-\d{2,3}\b")
_FX = re.compile(r"\bFX-?(\d)(\d)(\d\d)([A-Z]?)")
_FX_EXACT = {"8370": 2014, "8320E": 2014, "8370E": 2014, "8310": 2014, "4350": 2013, "6350": 2013, "4130": 2012}


def _amd_other(text: str) -> int | None:
    match = _APU.search(text)
    if match and "AMD" in text:
        number = match.group(1) + match.group(2)
        return _APU_EXACT.get(number, _APU_SERIES.get(int(match.group(1))))
    match = _FX.search(text)
    if match and "AMD" in text:
        first, second, _, suffix = match.groups()
        number = first + second + match.group(3)
        exact = _FX_EXACT.get(number + suffix, _FX_EXACT.get(number))
        if exact is not None:
            return exact
        if first == "9":
            return 2016 if second == "8" else 2013
        if first == "7":
            return 2014
        if first == "8" and second == "8":
            return 2015
        return {"1": 2011, "3": 2012}.get(second)
    match = _AMD_E.search(text)
    if match and "AMD" in text:
        return _AMD_E_SERIES.get(int(match.group(2)))
    if "AMD" in text and _AMD_BOBCAT.search(text):
        return 2011
    if re.search(r"\bPhenom II\b", text):
        return 2009
    if re.search(r"\bPhenom\b", text):
        return 2007
    if re.search(r"\bTurion\b", text):
        return 2006
    return None


# Order matters: specific patterns before broad ones ('Core i5-7Y54' before 'Core i5-7...').
_PARSERS: tuple[Callable[[str], int | None], ...] = (
    _apple, _core_ultra, _core_y, _core_i, _core2, _pentium, _celeron, _intel_n, _atom, _xeon, _ryzen,
    _athlon, _amd_other,
)


@lru_cache(maxsize=8192)
def launch_year(brand: str | None) -> int | None:
    """Launch year of the CPU named by a brand string, or None when it is not in the table."""
    if not brand:
        return None
    text = normalise(brand)
    for parse in _PARSERS:
        year = parse(text)
        if year is not None:
            return year
    return None
