"""A real browser (Debian's chromium, headless, driven by Playwright) uses the app.

Never downloads a browser: it needs /usr/bin/chromium (`apt-get install -y chromium`).
Set ELIXIR_UI_SCREENSHOT=path to keep the screenshot somewhere (docs/screenshot.png).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium with `apt-get install -y chromium` "
                    "(this test never downloads a browser)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the dev extra) is needed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


def _pick(page, picker: str, value: str) -> None:
    """Type into a Gradio dropdown to filter it, then click the matching option."""
    box = page.locator(f"#{picker} input")
    box.click()
    box.fill(value)
    page.locator('li[role="option"]', has_text=value).first.click()


def test_browser_asks_and_sees_a_cited_answer_and_the_evidence(served, ui_world, browser, tmp_path):
    _, url = served()
    pair = ui_world.pairs[2]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.locator("#chat").wait_for()
    _pick(page, "user-picker", pair.user_id)
    _pick(page, "item-picker", pair.item_id)
    page.locator("#question textarea").fill("Why would I like it?")
    page.locator("#send").click()

    reviews = page.locator("#evidence-reviews")
    reviews.get_by_text(re.compile(r"\[syn-")).first.wait_for(timeout=30_000)
    badge = page.locator("#evidence-badge")
    assert "Verified" in badge.inner_text()
    assert "Predicted rating" in page.locator("#evidence-rating").inner_text()
    assert pair.user_id in page.locator("#evidence-rating").inner_text()
    page.locator("#evidence-aspects img, #evidence-aspects svg").first.wait_for(timeout=10_000)
    chat = page.locator("#chat").inner_text()
    assert re.search(r"\[syn-[^\]]+\]", chat), chat
    assert "aspect_ratings" in chat  # the collapsible tool step is shown
    # A "why" rests on the user's own reviews first: shown apart, under the verdict.
    shown = reviews.inner_text()
    assert "Your reviews" in shown and shown.index("Your reviews") < shown.index("Other reviewers")
    assert "You'd probably" in page.locator("#evidence-rating").inner_text() or \
        "probably not for you" in page.locator("#evidence-rating").inner_text()

    shot = tmp_path / "screenshot.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    if os.environ.get("ELIXIR_UI_SCREENSHOT"):
        shutil.copy(shot, os.environ["ELIXIR_UI_SCREENSHOT"])

    # The browser keeps the conversation id: a reload shows the same conversation.
    page.reload()
    page.locator("#chat").get_by_text("Why would I like it?").first.wait_for(timeout=15_000)
    assert re.search(r"\[syn-[^\]]+\]", page.locator("#chat").inner_text())
