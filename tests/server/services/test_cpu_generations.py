"""CPU launch years from real brand strings, as Windows, Linux and macOS report them."""

from __future__ import annotations

import pytest

from server.services.cpu_generations import launch_year, normalise


@pytest.mark.parametrize(
    ("brand", "year"),
    [
        # Intel Core, 1st to 14th generation, desktop and mobile
        ("Intel(R) Core(TM) i7 CPU         920  @ 2.67GHz", 2008),
        ("Intel(R) Core(TM) i5 CPU         650  @ 3.20GHz", 2010),
        ("Intel(R) Core(TM) i5 CPU       M 520  @ 2.40GHz", 2010),
        ("Intel(R) Core(TM) i5-2400 CPU @ 3.10GHz", 2011),
        ("Intel(R) Core(TM) i3-2120 CPU @ 3.30GHz", 2011),
        ("Intel(R) Core(TM) i5-3470 CPU @ 3.20GHz", 2012),
        ("Intel(R) Core(TM) i5-3210M CPU @ 2.50GHz", 2012),
        ("Intel(R) Core(TM) i5-4570 CPU @ 3.20GHz", 2013),
        ("Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", 2014),
        ("Intel(R) Core(TM) i7-4790K CPU @ 4.00GHz", 2014),
        ("Intel(R) Core(TM) i5-4200U CPU @ 1.60GHz", 2013),
        ("Intel(R) Core(TM) i5-4210U CPU @ 1.70GHz", 2014),
        ("Intel(R) Core(TM) i5-5200U CPU @ 2.20GHz", 2015),
        ("Intel(R) Core(TM) i5-6500 CPU @ 3.20GHz", 2015),
        ("Intel(R) Core(TM) i5-6200U CPU @ 2.30GHz", 2015),
        ("Intel(R) Core(TM) i5-7400 CPU @ 3.00GHz", 2017),
        ("Intel(R) Core(TM) i7-7500U CPU @ 2.70GHz", 2016),
        ("Intel(R) Core(TM) i5-8400 CPU @ 2.80GHz", 2017),
        ("Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz", 2018),
        ("Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz", 2017),
        ("Intel(R) Core(TM) i5-8265U CPU @ 1.60GHz", 2018),
        ("Intel(R) Core(TM) i5-9400 CPU @ 2.90GHz", 2019),
        ("Intel(R) Core(TM) i7-9700K CPU @ 3.60GHz", 2018),
        ("Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", 2020),
        ("Intel(R) Core(TM) i5-10210U CPU @ 1.60GHz", 2019),
        ("Intel(R) Core(TM) i5-1035G1 CPU @ 1.00GHz", 2019),
        ("Intel(R) Core(TM) i5-11400 @ 2.60GHz", 2021),
        ("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", 2020),
        ("12th Gen Intel(R) Core(TM) i5-12400", 2022),
        ("12th Gen Intel(R) Core(TM) i7-12700K", 2021),
        ("12th Gen Intel(R) Core(TM) i5-1235U", 2022),
        ("13th Gen Intel(R) Core(TM) i5-13400", 2023),
        ("13th Gen Intel(R) Core(TM) i7-13700K", 2022),
        ("13th Gen Intel(R) Core(TM) i5-1335U", 2023),
        ("14th Gen Intel(R) Core(TM) i7-14700K", 2023),
        ("14th Gen Intel(R) Core(TM) i5-14400", 2024),
        ("Intel(R) Core(TM) Ultra 7 155H", 2023),
        ("Intel(R) Core(TM) Ultra 7 258V", 2024),
        ("Intel(R) Core(TM) Ultra 9 285K", 2024),
        ("Intel(R) Core(TM) 5 120U", 2024),
        ("Intel(R) Core(TM) m3-7Y30 CPU @ 1.00GHz", 2016),
        ("Intel(R) Core(TM) i3-N305", 2023),
        # Core 2
        ("Intel(R) Core(TM)2 Duo CPU     E7500  @ 2.93GHz", 2008),
        ("Intel(R) Core(TM)2 Duo CPU     E4600  @ 2.40GHz", 2007),
        ("Intel(R) Core(TM)2 CPU          6600  @ 2.40GHz", 2006),
        ("Intel(R) Core(TM)2 Quad CPU    Q6600  @ 2.40GHz", 2007),
        ("Intel(R) Core(TM)2 Quad CPU    Q8400  @ 2.66GHz", 2008),
        ("Intel(R) Core(TM)2 Duo CPU     T6600  @ 2.20GHz", 2009),
        # Pentium
        ("Pentium(R) Dual-Core  CPU      E5700  @ 3.00GHz", 2010),
        ("Intel(R) Pentium(R) Dual  CPU  E2180  @ 2.00GHz", 2007),
        ("Intel(R) Pentium(R) CPU G630 @ 2.70GHz", 2011),
        ("Intel(R) Pentium(R) CPU G2020 @ 2.90GHz", 2013),
        ("Intel(R) Pentium(R) CPU G3220 @ 3.00GHz", 2013),
        ("Intel(R) Pentium(R) CPU G3250 @ 3.20GHz", 2014),
        ("Intel(R) Pentium(R) CPU G4400 @ 3.30GHz", 2015),
        ("Intel(R) Pentium(R) CPU G4560 @ 3.50GHz", 2017),
        ("Intel(R) Pentium(R) Gold G5400 CPU @ 3.70GHz", 2018),
        ("Intel(R) Pentium(R) Gold G6400 CPU @ 4.00GHz", 2020),
        ("Intel(R) Pentium(R) Gold 7505 @ 2.00GHz", 2020),
        ("Intel(R) Pentium(R) Silver N5000 CPU @ 1.10GHz", 2017),
        ("Intel(R) Pentium(R) CPU 4415U @ 2.30GHz", 2017),
        ("Intel(R) Pentium(R) CPU B960 @ 2.20GHz", 2011),
        ("Intel(R) Pentium(R) 4 CPU 3.00GHz", 2002),
        # Celeron and Intel N
        ("Intel(R) Celeron(R) CPU G1610 @ 2.60GHz", 2013),
        ("Intel(R) Celeron(R) CPU G1840 @ 2.80GHz", 2014),
        ("Intel(R) Celeron(R) CPU G3900 @ 2.80GHz", 2015),
        ("Intel(R) Celeron(R) CPU G4900 @ 3.10GHz", 2018),
        ("Intel(R) Celeron(R) G5905 CPU @ 3.50GHz", 2020),
        ("Intel(R) Celeron(R) CPU  J1800  @ 2.41GHz", 2013),
        ("Intel(R) Celeron(R) CPU  J1900  @ 1.99GHz", 2013),
        ("Intel(R) Celeron(R) CPU  N3060  @ 1.60GHz", 2016),
        ("Intel(R) Celeron(R) N4000 CPU @ 1.10GHz", 2017),
        ("Intel(R) Celeron(R) N4020 CPU @ 1.10GHz", 2019),
        ("Intel(R) Celeron(R) J4125 CPU @ 2.00GHz", 2019),
        ("Intel(R) Celeron(R) N5095 @ 2.00GHz", 2021),
        ("Intel(R) Celeron(R) CPU 1007U @ 1.50GHz", 2013),
        ("Intel(R) Celeron(R) CPU 3865U @ 1.80GHz", 2017),
        ("Intel(R) N100", 2023),
        # Atom and Xeon
        ("Intel(R) Atom(TM) CPU N270   @ 1.60GHz", 2008),
        ("Intel(R) Atom(TM) x5-Z8350  CPU @ 1.44GHz", 2016),
        ("Intel(R) Xeon(R) CPU E3-1230 v2 @ 3.30GHz", 2012),
        ("Intel(R) Xeon(R) CPU E5-2620 0 @ 2.00GHz", 2012),
        ("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", 2016),
        ("Intel(R) Xeon(R) E-2224 CPU @ 3.40GHz", 2019),
        ("Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz", 2019),
        ("Intel(R) Xeon(R) CPU           X5650  @ 2.67GHz", 2010),
        # AMD Ryzen
        ("AMD Ryzen 7 1700 Eight-Core Processor", 2017),
        ("AMD Ryzen 5 2600 Six-Core Processor", 2018),
        ("AMD Ryzen 3 2200G with Radeon Vega Graphics", 2018),
        ("AMD Ryzen 5 2500U with Radeon Vega Mobile Gfx", 2017),
        ("AMD Ryzen 5 3500U with Radeon Vega Mobile Gfx", 2019),
        ("AMD Ryzen 5 3600 6-Core Processor", 2019),
        ("AMD Ryzen 5 4600H with Radeon Graphics", 2020),
        ("AMD Ryzen 7 PRO 4750U with Radeon Graphics", 2020),
        ("AMD Ryzen 5 5600X 6-Core Processor", 2020),
        ("AMD Ryzen 5 5600G with Radeon Graphics", 2021),
        ("AMD Ryzen 5 5500U with Radeon Graphics", 2021),
        ("AMD Ryzen 5 7600X 6-Core Processor", 2022),
        ("AMD Ryzen 5 7530U with Radeon Graphics", 2023),
        ("AMD Ryzen 5 8600G w/ Radeon 760M Graphics", 2024),
        ("AMD Ryzen AI 9 HX 370 w/ Radeon 890M", 2024),
        # AMD Athlon, APUs, FX
        ("AMD Athlon 200GE with Radeon Vega Graphics", 2018),
        ("AMD Athlon 3000G with Radeon Vega Graphics", 2019),
        ("AMD Athlon Silver 3050U with Radeon Graphics", 2020),
        ("AMD Athlon Gold 3150U with Radeon Graphics", 2020),
        ("AMD Athlon(tm) II X2 250 Processor", 2009),
        ("AMD Athlon(tm) 64 X2 Dual Core Processor 4000+", 2005),
        ("AMD A4-5300 APU with Radeon(tm) HD Graphics", 2012),
        ("AMD A8-6500 APU with Radeon(tm) HD Graphics", 2013),
        ("AMD A10-7850K Radeon R7, 12 Compute Cores 4C+8G", 2014),
        ("AMD A10-8700P Radeon R6, 10 Compute Cores 4C+6G", 2015),
        ("AMD A12-9800 RADEON R7, 12 COMPUTE CORES 4C+8G", 2016),
        ("AMD A4-5000 APU with Radeon(TM) HD Graphics", 2013),
        ("AMD FX(tm)-8350 Eight-Core Processor", 2012),
        ("AMD FX(tm)-6100 Six-Core Processor", 2011),
        ("AMD Phenom(tm) II X4 955 Processor", 2009),
        # Apple silicon
        ("Apple M1", 2020),
        ("Apple M2", 2022),
        ("Apple M3 Pro", 2023),
        ("Apple M4 Max", 2024),
    ],
)
def test_launch_year_of_real_brand_strings(brand: str, year: int) -> None:
    assert launch_year(brand) == year


@pytest.mark.parametrize(
    "brand",
    [None, "", "QEMU Virtual CPU version 2.5+", "Common KVM processor", "Intel(R) Celeron(R) CPU 2.40GHz",
     "ARMv7 Processor rev 10 (v7l)", "Apple M9"],
)
def test_unknown_cpu_gives_none(brand: str | None) -> None:
    assert launch_year(brand) is None


def test_normalise_removes_marks_and_spaces() -> None:
    assert normalise("Intel(R) Core(TM)2 Duo CPU     E7500  @ 2.93GHz") == "Intel Core 2 Duo CPU E7500 @ 2.93GHz"
    assert normalise("AMD FX(tm)-8350 Eight-Core Processor") == "AMD FX-8350 Eight-Core Processor"
