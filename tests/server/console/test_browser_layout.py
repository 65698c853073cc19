"""The overview laid out by real Chromium at a phone's and an office monitor's width: no text overlaps other
text or leaves its card or the screen, every text is at least 4.5:1 against what is behind it (WCAG AA), and
every table header says what it heads (``scope``).

The checks read what the browser drew: each text node's line boxes (``Range.getClientRects``), the colour the
browser computed for it (``fill`` for SVG text) and the backgrounds of its ancestors blended down to the page,
with the opacity on the way.
"""

from __future__ import annotations

from typing import Any

import pytest

from server.config import Settings
from tests.server.console.conftest import PASSWORDS

pytestmark = pytest.mark.slow

#: Runs in the page: every drawn text, with its box, its card, and its colour and background (RGBA, blended).
COLLECT = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => {  // top drawn over below (below opaque)
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a)).concat([1]);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let colour = [255, 255, 255, 1];  // the canvas behind the page
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o;
  };
  const out = [];
  const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (el.closest(".skip, option, script, style, title")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0);
    if (!rects.length) continue;
    const style = getComputedStyle(el);
    const svg = el instanceof SVGElement;
    const fg = parse(svg ? style.fill : style.color);
    fg[3] *= opacity(el);
    const card = el.closest(".card") || document.querySelector("main");
    const box = card.getBoundingClientRect();
    out.push({
      text: node.textContent.trim().slice(0, 60),
      rects: rects.map((r) => [r.left, r.top, r.right, r.bottom]),
      card: [box.left, box.top, box.right, box.bottom],
      fg: fg, bg: background(el),
    });
  }
  return {
    texts: out,
    width: document.documentElement.clientWidth,
    scrollWidth: document.documentElement.scrollWidth,
    headersWithoutScope: [...document.querySelectorAll("th:not([scope])")].map((th) => th.outerHTML.slice(0, 80)),
  };
}
"""


def _luminance(rgb: list[float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: list[float], bg: list[float]) -> float:
    """The WCAG contrast ratio of text ``fg`` (RGBA, drawn over ``bg``) against the opaque ``bg``."""
    alpha = fg[3]
    drawn = [fg[i] * alpha + bg[i] * (1 - alpha) for i in range(3)]
    light, dark = sorted((_luminance(drawn), _luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula() -> None:
    assert round(contrast([0, 0, 0, 1], [255, 255, 255, 1]), 1) == 21.0
    assert round(contrast([118, 118, 118, 1], [255, 255, 255, 1]), 2) == 4.54  # #767676, the classic AA grey
    assert contrast([0, 0, 0, 0], [255, 255, 255, 1]) == 1.0  # invisible text


def _overlap(a: list[float], b: list[float], slack: float = 1.0) -> bool:
    return a[0] + slack < b[2] and b[0] + slack < a[2] and a[1] + slack < b[3] and b[1] + slack < a[3]


def _sign_in(page: Any, base: str) -> None:
    page.goto(base + "/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORDS["admin"])
    page.click("button.primary")
    page.wait_for_url(base + "/")


@pytest.mark.parametrize("width", [390, 1366])
def test_the_overview_fits_reads_and_contrasts(page: Any, server: tuple[str, Settings], width: int) -> None:
    base, _ = server
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in(page, base)
    found = page.evaluate(COLLECT)
    texts = found["texts"]
    assert len(texts) > 50  # the page was drawn: cards, figures, to-do list, charts
    assert found["headersWithoutScope"] == []
    problems = []
    if found["scrollWidth"] > found["width"]:
        problems.append(f"the page scrolls sideways: {found['scrollWidth']} > {found['width']}")
    for t in texts:
        for r in t["rects"]:
            if r[0] < -0.5 or r[2] > width + 0.5:
                problems.append(f"off screen: {t['text']!r} {r}")
            card = t["card"]
            if r[0] < card[0] - 0.5 or r[2] > card[2] + 0.5:
                problems.append(f"leaves its card: {t['text']!r} {r} card {card}")
        ratio = contrast(t["fg"], t["bg"])
        if ratio < 4.5:
            problems.append(f"contrast {ratio:.2f}:1: {t['text']!r} {t['fg']} on {t['bg']}")
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if any(_overlap(ra, rb) for ra in a["rects"] for rb in b["rects"]):
                problems.append(f"overlap: {a['text']!r} and {b['text']!r}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("path", ["/devices", "/units"])
def test_lists_contrast_and_headers(page: Any, server: tuple[str, Settings], path: str) -> None:
    base, _ = server
    _sign_in(page, base)
    page.goto(base + path)
    found = page.evaluate(COLLECT)
    assert found["headersWithoutScope"] == []
    ratios = [(t["text"], round(contrast(t["fg"], t["bg"]), 2)) for t in found["texts"]]
    assert len(ratios) > 20
    low = [(text, ratio) for text, ratio in ratios if ratio < 4.5]
    assert low == [], low
