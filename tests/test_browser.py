"""End to end in a real browser: headless Chromium reads the news page from `revier-feed serve`.

Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the
test fails with the install command; a developer who cannot install them sets
REVIER_FEED_SKIP_BROWSER=1 and sees the skip in pytest's summary. CI ignores that variable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from revier_feed.app import App
from revier_feed.config import AppConfig

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PHONE = (390, 844)  # CSS pixels of a common phone


def browser_missing() -> str | None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if not missing:
        return None
    return (
        f"{' and '.join(missing)} not found: install Debian's packages with "
        "`apt-get install chromium chromium-driver` (.ci/run does this in CI)"
    )


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    problem = browser_missing()
    if problem:
        if os.environ.get("REVIER_FEED_SKIP_BROWSER") == "1" and os.environ.get("CI") != "true":
            pytest.skip(f"REVIER_FEED_SKIP_BROWSER=1: {problem}")
        pytest.fail(problem, pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_experimental_option(
        "mobileEmulation",
        {"deviceMetrics": {"width": PHONE[0], "height": PHONE[1], "pixelRatio": 3}},
    )
    # JavaScript stays on: WebDriver's clicks need it. That the pages have none is
    # checked in test_pages.py.
    # The system driver: Selenium Manager never downloads anything.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(demo_config: AppConfig, make_app: Callable[[AppConfig], App]) -> Iterator[str]:
    """The demo's output, collected from the sample region, served by `revier-feed serve`."""
    make_app(demo_config).run_cycle()
    exe = Path(sys.executable).parent / "revier-feed"
    server = subprocess.Popen(
        [str(exe), "--config", str(demo_config.config_dir), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        found = re.search(r"at (http://127\.0\.0\.1:\d+/)", server.stdout.readline())
        assert found, server.stderr.read() if server.stderr else "no address"
        yield found.group(1)
    finally:
        server.terminate()
        server.communicate(timeout=10)


def test_reader_follows_a_tag_to_its_stories(
    browser: webdriver.Chrome, served: str, demo_config: AppConfig
) -> None:
    browser.get(served)
    assert browser.title == "Revier-News Mitteldeutschland (Demo)"
    first_day = browser.find_element(By.CSS_SELECTOR, "section.day h2").text
    assert first_day == "Dienstag, 20. Juli 2021"
    # Readable on a phone: nothing wider than the screen, so no sideways scrolling.
    for element in browser.find_elements(By.CSS_SELECTOR, "header, main, article, nav"):
        assert 0 < element.location["x"] + element.size["width"] <= PHONE[0]

    browser.find_element(By.CSS_SELECTOR, "ul.terms a[href$='tag-robotik.html']").click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith("tag-robotik.html"))
    assert browser.current_url == served + "channels/tag-robotik.html"
    assert browser.find_element(By.TAG_NAME, "h1").text.endswith("Robotik")
    titles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "article h3")]
    feed = json.loads((demo_config.output_dir / "feeds" / "all.json").read_text("utf-8"))
    tagged = [i["title"] for i in feed["items"] if "Robotik" in i.get("tags", [])]
    assert titles == tagged
    assert "Roboter als Bewegungstrainer: tediro gewinnt Clusterpreis Life Sciences" in titles
    for article in browser.find_elements(By.TAG_NAME, "article"):
        chips = [a.text for a in article.find_elements(By.CSS_SELECTOR, "ul.terms a")]
        assert "Robotik" in chips

    # The page's feed link works from the browser too.
    browser.find_element(By.LINK_TEXT, "Alle Meldungen").click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith("/index.html"))
    assert len(browser.find_elements(By.TAG_NAME, "article")) == len(feed["items"])


def test_a_digest_with_a_long_word_stays_as_wide_as_its_page(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    """A title, teaser or file name with a word of 200 letters (a URL pasted as text, a
    file named without blanks) made the 640-pixel digest 1,900 pixels wide: every story
    scrolled sideways (found with a browser, session 40)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from revier_feed.digest import Renderer
    from revier_feed.models import DigestEntry, DigestIssue, DigestPeriod

    word = "Strukturwandelbeschleunigungsprogramm" * 6
    at = datetime(2026, 11, 23, 6, tzinfo=UTC)
    entry = DigestEntry(
        story_id=1,
        title=f"Förderung: {word}",
        url="https://kreis.example/a",
        source="Landkreis",
        published_at=at,
        teaser=f"Der Kreistag hat {word} beschlossen.",
        also=((f"Partner {word}", None),),
        text_hash="h",
        files=((f"{word}.pdf (PDF, 1 MB)", "https://kreis.example/a.pdf"),),
    )
    period = DigestPeriod("2026-11-23T0700", at, at.replace(day=16), at)
    renderer = Renderer(
        template_dir=None,
        tz=ZoneInfo("Europe/Berlin"),
        site_title="Revier",
        public_base_url="https://news.example/",
        subject="{title}",
    )
    page = tmp_path / "digest.html"
    page.write_text(renderer.render(DigestIssue(None, period, (("Alle", (entry,)),))).html)
    browser.set_window_size(1200, 900)
    browser.get(page.as_uri())
    width = browser.execute_script("return document.querySelector('table.page').offsetWidth")
    assert width == 640
