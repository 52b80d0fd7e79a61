"""Every page of the built book, opened in a real browser (Debian's Chromium via Playwright).

A build that "succeeds" can still show raw TeX or blank widgets when a script fails to
load; only a browser sees that. For each page this checks that formulas are typeset,
images loaded, widgets rendered, that no request failed or left 127.0.0.1, and that the
console shows no errors; it saves a full-page screenshot to
test-artifacts/screenshots/<page>.png for a human to look at.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from test_book_build import toc_docnames

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"

# Sphinx's own pages, besides the toc: both are ordinary static pages here.
# (index.html is not checked on its own: it only redirects to the toc's root page.)
EXTRA_PAGES = ["genindex", "search"]
PAGES = toc_docnames() + EXTRA_PAGES

# What some pages must contain, so that a check cannot pass because the thing is absent.
EXPECTED = {"book/intro": {"math": 3, "widgets": 1, "images": 2}}

# Console errors that do not mean anything is broken, with the reason.
HARMLESS_CONSOLE_ERRORS = [
    # Chromium asks the server root for /favicon.ico on its own; the book has no favicon,
    # so the server answers 404. Nothing the page asked for is missing.
    lambda msg: msg["url"].endswith("/favicon.ico") and "404" in msg["text"],
]

RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\$[^$\n]{0,200}?(\\[A-Za-z]+|[\^_{}])[^$\n]{0,200}?\$")

WAIT_FOR_MATHJAX = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    if (MathJax.typesetPromise) await MathJax.typesetPromise();
  }
}"""

WAIT_FOR_IMAGES = """async () => {
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
}"""

COUNT_WIDGETS = """() => ({
  views: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
  rendered: Array.from(document.querySelectorAll(".widget-subarea"))
    .filter(area => area.querySelector(".jupyter-widgets")).length,
})"""

INSPECT = """() => {
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll(
    "script, style, pre, code, textarea, noscript, template, mjx-container, .highlight"
  ).forEach(el => el.remove());
  const maths = Array.from(document.querySelectorAll(".math"));
  return {
    text: clone.textContent,
    math: maths.length,
    mathUntypeset: maths.filter(el => !el.querySelector("mjx-container")).length,
    mathErrors: document.querySelectorAll("mjx-merror").length,
    images: Array.from(document.images).map(img => ({
      src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0,
    })),
    widgetErrors: Array.from(document.querySelectorAll(".widget-subarea"))
      .filter(area => /Error displaying widget/.test(area.textContent)).length,
    outputAreas: document.querySelectorAll(".widget-subarea .jp-OutputArea").length,
  };
}"""


def _screenshot_path(docname: str) -> Path:
    return SHOTS / f"{docname.replace('/', '_')}.png"


def open_page(browser_context, book_server, docname: str, screenshot: bool = True) -> dict:
    """Open a page, wait until math, widgets and images are done, and report what happened."""
    page = browser_context.new_page()
    page.set_default_timeout(30_000)
    events = {"external": [], "failed": [], "bad_status": [], "console": [], "page_errors": []}

    def on_request(request):
        url = urlsplit(request.url)
        if url.scheme in ("http", "https") and url.hostname != "127.0.0.1":
            events["external"].append(request.url)

    page.on("request", on_request)
    page.on("requestfailed", lambda r: events["failed"].append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and events["bad_status"].append(
        f"{r.status} {r.url}"))
    page.on("console", lambda m: m.type == "error" and events["console"].append(
        {"text": m.text, "url": (m.location or {}).get("url", "")}))
    page.on("pageerror", lambda err: events["page_errors"].append(str(err)))
    try:
        page.goto(book_server.url(f"{docname}.html"), wait_until="load")
        page.evaluate(WAIT_FOR_MATHJAX)
        widgets = page.evaluate(COUNT_WIDGETS)
        if widgets["views"]:
            try:
                page.wait_for_function(
                    f"() => ({COUNT_WIDGETS})().rendered >= {widgets['views']}", timeout=30_000)
            except Exception:  # reported below as rendered < views
                pass
            widgets = page.evaluate(COUNT_WIDGETS)
            page.evaluate(WAIT_FOR_MATHJAX)  # widgets may bring more math
        page.evaluate(WAIT_FOR_IMAGES)
        page.wait_for_load_state("networkidle")
        report = page.evaluate(INSPECT)
        report["widgets"] = widgets
        report["title"] = page.title()
        if screenshot:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(_screenshot_path(docname)), full_page=True)
        report["glued"] = page.locator("span.output.text_plain").all_inner_texts()
        report["explorer_text"] = page.locator(".cnnbook-explorer-text").all_inner_texts()
        report["explorer_images"] = page.evaluate(
            """() => Array.from(document.querySelectorAll(".cnnbook-explorer-figure img"))
                 .map(img => img.naturalWidth)""")
    finally:
        page.close()
    report.update(events)
    report["console"] = [m for m in events["console"]
                         if not any(harmless(m) for harmless in HARMLESS_CONSOLE_ERRORS)]
    return report


def problems(report: dict, expected: dict) -> list[str]:
    """Everything wrong with one page, as readable lines (empty when the page is fine)."""
    found = []
    for key, what in (("external", "requests to other hosts"), ("failed", "failed requests"),
                      ("bad_status", "responses >= 400"), ("console", "console errors"),
                      ("page_errors", "uncaught JavaScript errors")):
        if report[key]:
            found.append(f"{what}: {report[key]}")
    if report["mathUntypeset"] or report["mathErrors"]:
        found.append(f"{report['mathUntypeset']} of {report['math']} formulas not typeset, "
                     f"{report['mathErrors']} MathJax errors")
    raw = [m.group(0) for m in RAW_TEX.finditer(report["text"])]
    if raw:
        found.append(f"raw TeX in the visible text: {raw[:5]}")
    broken = [img["src"][:120] for img in report["images"] if not img["ok"]]
    if broken:
        found.append(f"images that did not load: {broken}")
    w = report["widgets"]
    if w["rendered"] < w["views"] or report["widgetErrors"]:
        found.append(f"widgets: {w['rendered']} of {w['views']} views rendered, "
                     f"{report['widgetErrors']} errors")
    if report["math"] < expected.get("math", 0):
        found.append(f"expected at least {expected['math']} formulas; found {report['math']}")
    if w["rendered"] < expected.get("widgets", 0):
        found.append(f"expected at least {expected['widgets']} rendered widgets; "
                     f"found {w['rendered']}")
    if len(report["images"]) < expected.get("images", 0):
        found.append(f"expected at least {expected['images']} images; "
                     f"found {len(report['images'])}")
    return found


@pytest.mark.parametrize("docname", PAGES)
def test_page_renders_offline(docname, built_book, book_server, browser_context):
    assert built_book.page(docname).exists(), f"{docname}.html was not built"
    report = open_page(browser_context, book_server, docname)
    found = problems(report, EXPECTED.get(docname, {}))
    assert not found, f"{docname}.html ({report['title']}):\n  " + "\n  ".join(found)
    assert _screenshot_path(docname).stat().st_size > 10_000


def test_every_document_is_checked(built_book):
    # The documents of this build, from Sphinx's environment (stale pages of documents
    # since removed from the toc may still lie in _build/html; they do not count).
    with open(built_book.root / "_build" / ".doctrees" / "environment.pickle", "rb") as f:
        found = set(pickle.load(f).found_docs)
    assert found, "Sphinx found no documents"
    assert not found - set(PAGES), f"documents the browser test does not open: {sorted(found - set(PAGES))}"
    for extra in EXTRA_PAGES:
        assert built_book.page(extra).exists()


def test_intro_shows_the_glued_value_and_the_widget_state(built_book, book_server,
                                                          browser_context):
    from cnnbook.widgets import EXAMPLE_INPUT, EXAMPLE_KERNEL

    report = open_page(browser_context, book_server, "book/intro", screenshot=False)
    # An independent computation of the first output: plain Python over the same numbers.
    window = np.asarray(EXAMPLE_INPUT)[:3, :3].tolist()
    kernel = np.asarray(EXAMPLE_KERNEL).tolist()
    expected = sum(window[a][b] * kernel[a][b] for a in range(3) for b in range(3))
    assert expected == 65
    # "The 9 products add up to 65": the second glued value in the page.
    assert report["glued"][:2] == ["9", str(expected)]
    # The explorer's static state was computed at build time and shows the same number.
    assert len(report["explorer_text"]) == 1
    assert report["explorer_text"][0].rstrip(".").endswith(f"= {expected}")
    assert report["explorer_images"] and min(report["explorer_images"]) > 300
    assert report["outputAreas"] >= 1
