"""Headless Chromium (Debian's, installed by `make browser`) driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the networking flags Chromium keeps dialling Google's hosts, which
# this machine's closed network refuses; root needs --no-sandbox.
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def open_page(path: Path) -> Iterator[Page]:
    """A local HTML file opened in headless Chromium, fully loaded."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            f"No Chromium at {CHROMIUM}: run `make browser` (Debian's chromium) or "
            "set CHROMIUM to a Chromium executable"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(path.resolve().as_uri(), wait_until="load")
            yield page
        finally:
            browser.close()


def rendered_images(page: Page) -> list[dict[str, object]]:
    """Every <img> with its alt text, whether it loaded, and its decoded size."""
    return page.evaluate(
        """() => Array.from(document.images).map(img => ({
            alt: img.alt,
            complete: img.complete,
            width: img.naturalWidth,
            height: img.naturalHeight,
            shown: img.getBoundingClientRect().width,
        }))"""
    )
