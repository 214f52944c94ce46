"""The web page at GET / in a real browser: Playwright drives Debian's Chromium against real
`bentoml serve` processes, whose answers the page must show as they are.

Both serve the short MiniLM fine-tune of conftest.py (`real_model_tag`): the shared transformer
server (`server`, which windows long sentences: it reads 48 tokens) and one of its TF-IDF baseline
(`baseline_server`). The transformer answers `none` for every seed sentence after one epoch on the
fixture corpus; the baseline takes sides on some, so the colours, evidence links and the
screenshot are exercised with real answers.

Chromium comes from Debian (`apt-get install -y chromium`; CI's .ci/run installs it): Playwright's
own browser download needs the internet. A missing browser fails these tests, never skips them.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from PIL import Image

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture fails with how to install it
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.encoder]

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
TARGETS = ["US sanctions on Iran", "UN sanctions"]
CHROMIUM = os.environ.get("STANCE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOT = ROOT / "reports" / "web" / "seed.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright, headless."""
    if expect is None:
        pytest.fail("playwright is a dev dependency: pip install -e '.[dev]'")
    from playwright.sync_api import sync_playwright

    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}: install it with "
            "`apt-get install -y chromium` (or set STANCE_CHROMIUM to its path)"
        )
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def baseline_server(real_model_tag: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `bentoml serve` of the baseline backend of the same stored model."""
    from tests.support.launch import free_port, start_server, stop, wait_ready

    port = free_port()
    log = tmp_path_factory.mktemp("baseline-server") / "server.log"
    proc = start_server(port, log, STANCE_MODEL=real_model_tag, STANCE_BACKEND="baseline")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, log)
        yield url
    finally:
        stop(proc)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; ``page.requests`` lists every URL it asked for."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.requests = []
    tab.on("request", lambda request: tab.requests.append(request.url))
    yield tab
    context.close()


def api(server: str, text: str, targets: list[str]) -> dict[str, Any]:
    r = httpx.post(
        f"{server}/classify_document", json={"text": text, "targets": targets}, timeout=120
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def deep_link(server: str, text: str, targets: list[str]) -> str:
    return f"{server}/?text={quote(text)}&targets={quote(','.join(targets))}"


def shown_sentences(page: Any) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = page.eval_on_selector_all(
        "#article .sentence",
        """nodes => nodes.map(n => ({
            index: n.dataset.index, stance: n.dataset.stance, sentiment: n.dataset.sentiment,
            label: n.querySelector('.label').textContent, text: n.querySelector('.text').textContent
        }))""",
    )
    return rows


def expected_sentences(result: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"index": str(s["index"]), "stance": s["stance"], "sentiment": s["sentiment"],
         "label": s["stance"], "text": s["text"]}
        for s in result["sentences"]
    ]  # fmt: skip


def wait_results(page: Any) -> None:
    page.wait_for_selector("#results:not([hidden]) #article .sentence")


@pytest.mark.parametrize("seed", SEEDS, ids=[p.stem for p in SEEDS])
@pytest.mark.parametrize("backend", ["transformer", "baseline"])
def test_deep_link_renders_every_sentence_with_the_apis_labels(page, request, backend, seed):
    url = request.getfixturevalue("server" if backend == "transformer" else "baseline_server")
    text = seed.read_text(encoding="utf-8")
    expected = api(url, text, TARGETS)
    page.goto(deep_link(url, text, TARGETS))
    wait_results(page)
    assert page.input_value("#text") == text
    assert page.input_value("#targets") == ",".join(TARGETS)
    for k, result in enumerate(expected["results"]):
        page.click(f"#tabs .tab >> nth={k}")
        expect(page.locator('#tabs .tab[aria-selected="true"]')).to_have_text(result["target"])
        assert shown_sentences(page) == expected_sentences(result)
        card = page.locator(f'.summary[data-target="{result["target"]}"] .verdict')
        confidence = round(result["stance_confidence"] * 100)
        assert card.inner_text() == f"Document: {result['stance']} · confidence {confidence}%"
        windowed = [s for s in result["sentences"] if s["windows"] > 1]
        note = page.inner_text("#windowed")
        if windowed:
            listed = ", ".join(
                f"sentence {s['index'] + 1} ({s['windows']} windows)" for s in windowed
            )
            assert note.endswith(f"marked ⧉): {listed}")
        else:
            assert note == "No sentence was longer than the model reads: none was windowed."
    # the article reads as it was written: the text between sentences is kept
    assert page.inner_text("#article").count("\n") >= text.count("\n")
    assert page.inner_text("#run-meta").startswith(f"Model {expected['model']} · {backend} · ")
    assert all(u.startswith(url) for u in page.requests), page.requests  # nothing from elsewhere


def test_typing_and_ctrl_enter_classify_and_make_a_link(page, baseline_server):
    text = "Sanctions on Iran are illegal. The talks resume on Monday."
    page.goto(f"{baseline_server}/")
    expect(page.locator("#targets")).to_have_value("Fixture sanctions")  # the model's default
    page.click("#text")
    page.keyboard.type(text)
    page.fill("#targets", "US sanctions on Iran")
    page.keyboard.press("Control+Enter")
    wait_results(page)
    expected = api(baseline_server, text, ["US sanctions on Iran"])
    assert shown_sentences(page) == expected_sentences(expected["results"][0])
    assert page.is_hidden("#tabs")  # one target: nothing to switch
    assert page.inner_text("#status") == "Done: 2 sentences."
    link = page.get_attribute("#share-link", "href")
    assert link == page.evaluate("location.pathname + location.search")
    assert link == f"/?text={quote_plus(text)}&targets=US+sanctions+on+Iran"


def test_scores_show_on_hover_and_on_keyboard_focus(page, baseline_server):
    text = SEEDS[1].read_text(encoding="utf-8")
    first = api(baseline_server, text, TARGETS[:1])["results"][0]["sentences"][0]
    page.goto(deep_link(baseline_server, text, TARGETS[:1]))
    wait_results(page)
    stance = ", ".join(f"{k} {v:.2f}" for k, v in first["stance_scores"].items())
    sentiment = ", ".join(f"{k} {v:.2f}" for k, v in first["sentiment_scores"].items())
    page.hover("#s-0 .text")
    expect(page.locator("#tip")).to_be_visible()
    assert page.inner_text("#tip").splitlines() == [
        f"Sentence 1: {first['stance']}",
        f"stance: {stance}",
        f"sentiment {first['sentiment']}: {sentiment}",
    ]
    page.mouse.move(0, 0)
    expect(page.locator("#tip")).to_be_hidden()
    page.focus("#classify")
    for _ in range(20):  # from the button, past the links of the cards, to the first sentence
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "s-0":
            break
    assert page.evaluate("document.activeElement.id") == "s-0"
    expect(page.locator("#tip")).to_be_visible()
    assert f"stance: {stance}" in page.inner_text("#tip")
    assert page.get_attribute("#s-0", "aria-label") == (
        f"Sentence 1: {first['stance']} toward {TARGETS[0]} ({stance}); "
        f"sentiment {first['sentiment']} ({sentiment})"
    )
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "s-1"


def test_evidence_links_select_their_target_and_scroll_to_the_sentence(page, baseline_server):
    text = SEEDS[1].read_text(encoding="utf-8")
    results = api(baseline_server, text, TARGETS)["results"]
    k, result = next((k, r) for k, r in enumerate(results) if k > 0 and r["evidence"])
    page.set_viewport_size({"width": 1200, "height": 500})
    page.goto(deep_link(baseline_server, text, TARGETS))
    wait_results(page)
    i = result["evidence"][-1]
    page.click(f'.summary[data-target="{result["target"]}"] .evidence a >> nth=-1')
    assert page.evaluate("document.activeElement.id") == f"s-{i}"
    assert page.get_attribute(f"#tabs .tab >> nth={k}", "aria-selected") == "true"
    assert page.get_attribute(f"#s-{i}", "data-stance") == result["stance"]
    box = page.locator(f"#s-{i}").bounding_box()
    assert box is not None and 0 <= box["y"] <= 500  # scrolled into view


def submit(page: Any, url: str, text: str) -> str:
    page.goto(f"{url}/")
    page.fill("#text", text)
    page.click("#classify")
    page.wait_for_selector("#error:not([hidden])")
    message: str = page.inner_text("#error")
    return message


def test_over_long_and_empty_texts_are_errors_in_words(page, baseline_server):
    message = submit(page, baseline_server, "a" * 200_001)
    assert message == (
        "The service could not classify this text: text has 200001 characters; the limit is 200000."
    )
    message = submit(page, baseline_server, "   ")
    assert message == (
        "The service could not classify this text: text is empty or whitespace; "
        "send non-empty text."
    )
    assert page.is_hidden("#results")


def test_not_ready_and_unreachable_service_are_errors_in_words(page, baseline_server):
    page.goto(f"{baseline_server}/")
    page.fill("#text", "Sanctions hurt.")
    body = json.dumps({"detail": "the model is still loading; retry shortly"})
    page.route(
        "**/classify_document",
        lambda route: route.fulfill(status=503, body=body, content_type="application/json"),
    )
    page.click("#classify")
    expect(page.locator("#error")).to_have_text(
        "The model is still loading; try again in a few seconds."
    )
    page.unroute("**/classify_document")
    page.route("**/classify_document", lambda route: route.abort("connectionrefused"))
    page.click("#classify")
    expect(page.locator("#error")).to_have_text(
        re.compile(
            re.escape(f"Could not reach the service at {baseline_server} (")
            + r"[^)]+"
            + re.escape("). Is it running? Start it with `stance serve` or `make run`.")
        )
    )
    page.unroute("**/classify_document")
    page.click("#classify")
    wait_results(page)
    assert page.is_hidden("#error")  # the next good answer clears the error


def test_an_opened_file_fills_the_form_and_a_non_utf8_one_is_refused(
    page, baseline_server, tmp_path
):
    good = tmp_path / "article.txt"
    good.write_text("Sanctions on Iran are illegal.\nTalks go on.", encoding="utf-8")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Sanctions \xe9 \xff".encode("latin-1"))
    page.goto(f"{baseline_server}/")
    page.set_input_files("#file", str(good))
    expect(page.locator("#text")).to_have_value(good.read_text(encoding="utf-8"))
    assert page.inner_text("#status") == "Read article.txt (43 characters): press Classify."
    page.set_input_files("#file", str(bad))
    expect(page.locator("#error")).to_have_text(
        "latin1.txt is not UTF-8 text: save it as UTF-8 and try again."
    )


def test_a_text_too_long_for_a_link_is_posted_and_said_so(page, baseline_server):
    text = "Sanctions on Iran are illegal. " * 300  # about 9,000 characters
    page.goto(f"{baseline_server}/?targets={quote('US sanctions')}")
    page.fill("#text", text)
    page.click("#classify")
    wait_results(page)
    assert page.evaluate("location.search") == "?targets=US+sanctions"
    assert re.fullmatch(
        r"This text is too long to share as a link \(\d+ characters; the limit is 8000\): "
        r"it was posted to the service instead\.",
        page.inner_text("#share"),
    )


def test_screenshot_of_a_seed_document_for_the_readme(page, baseline_server):
    """reports/web/seed.png, with a sentence's scores shown (docs/web.png is a copy of it)."""
    text = SEEDS[1].read_text(encoding="utf-8")
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(deep_link(baseline_server, text, TARGETS))
    wait_results(page)
    shown = {row["stance"] for row in shown_sentences(page)}
    assert shown & {"favor", "against"}, "the screenshot should show a sentence taking a side"
    side = page.locator('#article .sentence:not([data-stance="none"]) .text').first
    side.hover()
    expect(page.locator("#tip")).to_be_visible()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    # 256 colours hold a page of flat fills and text, at under half the bytes of full colour.
    shot.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        SCREENSHOT, optimize=True
    )
    assert Image.open(SCREENSHOT).width == 1200
    assert 20_000 < SCREENSHOT.stat().st_size < 300_000, SCREENSHOT.stat().st_size
