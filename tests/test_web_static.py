"""The web page's files without a browser: colours that read in greyscale and for colour-blind
readers, text contrast, and nothing loaded from outside the server."""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parent.parent / "service" / "static"
STANCES = ("favor", "against", "none")


def css_colours() -> dict[str, str]:
    css = (STATIC / "style.css").read_text(encoding="utf-8")
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6});", css))


def luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def lightness(hex_colour: str) -> float:
    """CIE L* (0 black .. 100 white): what a greyscale print keeps of a colour."""
    y = luminance(hex_colour)
    return 116 * (y ** (1 / 3) if y > 216 / 24389 else (24389 / 27 * y + 16) / 116) - 16


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_three_stance_fills_stay_apart_in_greyscale():
    colours = css_colours()
    for a, b in combinations(STANCES, 2):
        gap = abs(lightness(colours[f"{a}-bg"]) - lightness(colours[f"{b}-bg"]))
        assert gap >= 18, f"{a} and {b} differ by only {gap:.1f} L* in greyscale"


@pytest.mark.parametrize("stance", STANCES)
def test_sentence_text_on_its_stance_fill_meets_wcag_aa(stance):
    colours = css_colours()
    ratio = contrast(colours[f"{stance}-fg"], colours[f"{stance}-bg"])
    assert ratio >= 4.5, f"{stance}: text contrast {ratio:.2f} < 4.5"


def test_the_fills_are_blue_orange_and_grey_not_red_and_green():
    colours = css_colours()

    def rgb(name: str) -> tuple[int, ...]:
        value = colours[name]
        return tuple(int(value[i : i + 2], 16) for i in (1, 3, 5))

    r, g, b = rgb("favor-bg")
    assert b > r and b > g  # blue
    r, g, b = rgb("against-bg")
    assert r > g > b  # orange
    assert len(set(rgb("none-bg"))) == 1  # grey


def test_the_page_loads_nothing_from_elsewhere():
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), path.name
        assert "@import" not in text and "url(http" not in text, path.name
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'(?:src|href)="(/static/[^"]+)"', page) == [
        "/static/style.css",
        "/static/app.js",
    ]
    assert {p.name for p in STATIC.iterdir()} == {"index.html", "style.css", "app.js"}
