"""Every page of the built book, opened in a real browser (Debian's Chromium via Playwright).

A build that "succeeds" can still show raw TeX, a broken image or an explorer whose
controls do nothing; only a browser sees that. For each page this checks that formulas
are typeset, images loaded, explorers live, that no request failed or left 127.0.0.1 and
that the console shows no errors; it saves a full-page screenshot to
test-artifacts/screenshots/<page>.png for a human to look at. Then it moves every control
of every explorer and checks what the page shows against cnnbook.
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
EXPECTED = {
    "book/intro": {"math": 3, "explorers": 1, "images": 1},
    "book/01_convolution": {"math": 20, "explorers": 1, "images": 3},
    "book/02_backprop": {"math": 20, "explorers": 1},
    "book/03_pooling": {"math": 10, "explorers": 1},
    "book/04_networks": {"math": 10, "explorers": 1},
}
EXPLORER_PAGES = [doc for doc, e in EXPECTED.items() if e.get("explorers")]

# Console errors that do not mean anything is broken, with the reason.
HARMLESS_CONSOLE_ERRORS = [
    # Chromium asks the server root for /favicon.ico on its own; the book has no favicon,
    # so the server answers 404. Nothing the page asked for is missing.
    lambda msg: msg["url"].endswith("/favicon.ico") and "404" in msg["text"],
]

# Files a light page must not need: the theme's icon font (157 kB; icons.css draws the
# icons) and scripts the book no longer uses.
HEAVY = ("/fontawesome/webfonts/", "fontawesome.js", "mathjax", "require.js", "embed-amd")

RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$"
                     r"|\$[^$\n]{0,200}?(\\[A-Za-z]+|[\^_{}])[^$\n]{0,200}?\$")

WAIT_FOR_IMAGES = """async () => {
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  await document.fonts.ready;
}"""

INSPECT = """() => {
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll(
    "script, style, pre, code, textarea, noscript, template, .katex, .highlight"
  ).forEach(el => el.remove());
  const maths = Array.from(document.querySelectorAll(".math"));
  const explorers = Array.from(document.querySelectorAll("[data-explorer]"));
  return {
    text: clone.textContent,
    math: maths.length,
    mathUntypeset: maths.filter(el => !el.querySelector(".katex")).length,
    mathErrors: document.querySelectorAll(".katex-error").length,
    images: Array.from(document.images).map(img => ({
      src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0,
    })),
    explorers: explorers.length,
    explorersReady: explorers.filter(e => e.hasAttribute("data-explorer-ready")).length,
    explorerErrors: explorers.map(e => e.getAttribute("data-explorer-error") ||
                                       e.getAttribute("data-explorer-missing")).filter(Boolean),
  };
}"""


def _screenshot_path(docname: str) -> Path:
    return SHOTS / f"{docname.replace('/', '_')}.png"


def open_page(browser_context, book_server, docname: str, screenshot: bool = True) -> dict:
    """Open a page, wait until images and fonts are done, and report what happened."""
    page = browser_context.new_page()
    page.set_default_timeout(30_000)
    events = {"external": [], "failed": [], "bad_status": [], "console": [], "page_errors": [],
              "heavy": []}

    def on_request(request):
        url = urlsplit(request.url)
        if url.scheme in ("http", "https") and url.hostname != "127.0.0.1":
            events["external"].append(request.url)
        if any(part in url.path for part in HEAVY):
            events["heavy"].append(url.path)

    page.on("request", on_request)
    page.on("requestfailed", lambda r: events["failed"].append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and events["bad_status"].append(
        f"{r.status} {r.url}"))
    page.on("console", lambda m: m.type == "error" and events["console"].append(
        {"text": m.text, "url": (m.location or {}).get("url", "")}))
    page.on("pageerror", lambda err: events["page_errors"].append(str(err)))
    try:
        page.goto(book_server.url(f"{docname}.html"), wait_until="load")
        page.evaluate(WAIT_FOR_IMAGES)
        page.wait_for_load_state("networkidle")
        report = page.evaluate(INSPECT)
        report["title"] = page.title()
        if screenshot:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(_screenshot_path(docname)), full_page=True)
        report["glued"] = page.locator("span.output.text_plain").all_inner_texts()
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
                      ("page_errors", "uncaught JavaScript errors"),
                      ("heavy", "heavy files a light page must not load")):
        if report[key]:
            found.append(f"{what}: {report[key]}")
    if report["mathUntypeset"] or report["mathErrors"]:
        found.append(f"{report['mathUntypeset']} of {report['math']} formulas not typeset, "
                     f"{report['mathErrors']} KaTeX errors")
    raw = [m.group(0) for m in RAW_TEX.finditer(report["text"])]
    if raw:
        found.append(f"raw TeX in the visible text: {raw[:5]}")
    broken = [img["src"][:120] for img in report["images"] if not img["ok"]]
    if broken:
        found.append(f"images that did not load: {broken}")
    if report["explorersReady"] < report["explorers"] or report["explorerErrors"]:
        found.append(f"explorers: {report['explorersReady']} of {report['explorers']} live, "
                     f"errors {report['explorerErrors']}")
    for key, what in (("math", "formulas"), ("explorers", "explorers")):
        if report[key] < expected.get(key, 0):
            found.append(f"expected at least {expected[key]} {what}; found {report[key]}")
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
    assert not found - set(PAGES), \
        f"documents the browser test does not open: {sorted(found - set(PAGES))}"
    for extra in EXTRA_PAGES:
        assert built_book.page(extra).exists()


def test_every_page_with_an_explorer_is_driven(built_book):
    """EXPLORER_PAGES must list every page that has an explorer, so none goes untested."""
    with_explorers = sorted(doc for doc in toc_docnames()
                            if "data-explorer=" in built_book.page(doc).read_text())
    assert with_explorers == sorted(EXPLORER_PAGES)


def test_intro_shows_the_glued_value(built_book, book_server, browser_context):
    from cnnbook.widgets import EXAMPLE_INPUT, EXAMPLE_KERNEL

    report = open_page(browser_context, book_server, "book/intro", screenshot=False)
    # An independent computation of the first output: plain Python over the same numbers.
    window = np.asarray(EXAMPLE_INPUT)[:3, :3].tolist()
    kernel = np.asarray(EXAMPLE_KERNEL).tolist()
    expected = sum(window[a][b] * kernel[a][b] for a in range(3) for b in range(3))
    assert expected == 65
    # "The 9 products add up to 65": the second glued value in the page.
    assert report["glued"][:2] == ["9", str(expected)]


# ---------------------------------------------------------------------------
# Explorers: every control moves what is shown, and what is shown is cnnbook's
# ---------------------------------------------------------------------------

READ_EXPLORER = """(root) => {
  const out = root.querySelector("[data-explorer-output]");
  const controls = {};
  root.querySelectorAll("input[type=range], select").forEach(c => {
    controls[c.dataset.control] = {value: c.value, min: c.min, max: c.max,
                        kind: c.tagName.toLowerCase(),
                        shown: c.parentNode.querySelector("output")?.textContent ?? null};
  });
  return {html: out.innerHTML, controls};
}"""

SAME_DOM = """([root, html]) => {
  const t = document.createElement("template");
  t.innerHTML = html;
  const out = root.querySelector("[data-explorer-output]");
  const mine = document.createElement("div");
  mine.append(t.content.cloneNode(true));
  return out.childNodes.length === mine.childNodes.length &&
    Array.from(out.childNodes).every((n, i) => n.isEqualNode(mine.childNodes[i]));
}"""


def _values(explorer, controls: dict) -> dict:
    from cnnbook.explorers.component import Range

    return {c.name: int(controls[c.name]["value"]) if isinstance(c, Range)
            else controls[c.name]["value"] for c in explorer.controls}


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def _cells(panel, crop: int = 0):
    rows = panel["cells"][crop:len(panel["cells"]) - crop]
    return np.array([[_number(c) for c in row[crop:len(row) - crop]] for row in rows])


def _independent_check(name: str, values: dict, shown: dict) -> None:
    """The numbers on screen against cnnbook's layers and shape arithmetic (not the views)."""
    if name in ("convolution", "sliding-window"):
        from cnnbook.explorers import convolution as cv
        from cnnbook.numpy import conv2d_forward

        x, kernels = ((cv.EXAMPLE_INPUT, cv.example_kernel) if name == "convolution"
                      else (cv.explorer_image(), cv.edge_kernel))
        k = np.asarray(kernels(values["kernel_size"]), dtype=float)
        y, _ = conv2d_forward(np.asarray(x, float)[None, None], k[None, None], None,
                              values["stride"], values["padding"])
        np.testing.assert_allclose(_cells(shown["panels"][2]), y[0, 0], atol=1e-9)
        oh, ow = y.shape[2:]
        i, j = divmod(values["step"], ow)
        assert shown["text"].endswith(f"= {y[0, 0, i, j]:g}.".replace("-", "−"))
    elif name == "pixel-gradient":
        from cnnbook.explorers.backprop import example_arrays
        from cnnbook.numpy import conv2d_backward, conv2d_forward

        delta, kern = example_arrays((6, 6), values["kernel_size"], values["stride"],
                                     values["padding"])
        _, cache = conv2d_forward(np.zeros((1, 1, 6, 6)), kern[None, None], None,
                                  values["stride"], values["padding"])
        dx = conv2d_backward(delta[None, None], cache)[0][0, 0]
        assert shown["text"].endswith(f"= {dx[values['p'], values['q']]:g}.".replace("-", "−"))
    elif name == "pooling":
        from cnnbook.explorers.pooling import EXAMPLE_INPUT
        from cnnbook.numpy import (avgpool2d_backward, avgpool2d_forward, maxpool2d_backward,
                                   maxpool2d_forward)

        fwd, bwd = ((maxpool2d_forward, maxpool2d_backward) if values["mode"] == "max"
                    else (avgpool2d_forward, avgpool2d_backward))
        y, cache = fwd(EXAMPLE_INPUT[None, None].copy(), values["kernel"], values["stride"],
                       values["padding"])
        dx = bwd(np.ones_like(y), cache)[0, 0]
        np.testing.assert_allclose(_cells(shown["panels"][1]), y[0, 0], atol=0.005)
        np.testing.assert_allclose(_cells(shown["panels"][2], values["padding"]), dx, atol=0.005)
    elif name == "receptive-field":
        from cnnbook.explorers.receptive_field import conv_stack
        from cnnbook.shapes import receptive_fields

        fields = receptive_fields(conv_stack(values["layers"], values["kernel"],
                                             values["stride"], values["pooling"]), (16, 16))
        assert f"grows {', '.join(str(f.size[0]) for f in fields)} pixels" in shown["text"]
        assert f"a {fields[-1].size[0]}×{fields[-1].size[0]} " in shown["text"]
    else:
        raise AssertionError(f"no independent check for explorer {name!r}: add one")


def _move(page, root, name: str, control: dict) -> None:
    """Change one control as a reader would: arrow keys on a slider, a pick in a list."""
    handle = root.query_selector(f'[data-control="{name}"]')
    if control["kind"] == "select":
        options = handle.eval_on_selector_all("option", "els => els.map(e => e.value)")
        handle.select_option(next(o for o in options if o != control["value"]))
    else:
        handle.focus()
        at_top = int(control["value"]) >= int(control["max"])
        page.keyboard.press("ArrowLeft" if at_top else "ArrowRight")


@pytest.mark.parametrize("docname", EXPLORER_PAGES)
def test_every_explorer_control_changes_the_output_to_cnnbooks(docname, built_book, book_server,
                                                               browser_context):
    from cnnbook import explorers
    from cnnbook.explorers.component import Range, read_output

    page = browser_context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(book_server.url(f"{docname}.html"), wait_until="load")
        roots = page.query_selector_all("[data-explorer]")
        assert roots, f"{docname} has no explorer"
        for root in roots:
            name = root.get_attribute("data-explorer")
            page.wait_for_function("(r) => r.hasAttribute('data-explorer-ready')", arg=root)
            explorer = explorers.build(name)
            state = page.evaluate(READ_EXPLORER, root)
            assert _values(explorer, state["controls"]) == explorer.initial
            assert page.evaluate(SAME_DOM, [root, explorer.state_html()])
            for control in explorer.controls:
                before = state
                _move(page, root, control.name, before["controls"][control.name])
                state = page.evaluate(READ_EXPLORER, root)
                values = _values(explorer, state["controls"])
                where = f"{docname} {name}: after moving {control.name} to {values}"
                was = _values(explorer, before["controls"])[control.name]
                assert values[control.name] != was, where
                assert state["html"] != before["html"], f"{where}: the output did not change"
                # The page shows exactly cnnbook's state for the new setting...
                assert values == explorer.normalise(values), where
                assert page.evaluate(SAME_DOM, [root, explorer.state_html(values)]), where
                shown = read_output(state["html"])
                assert shown == read_output(explorer.state_html(values)), where
                # ...its dependent ranges are cnnbook's...
                prefix = {}
                for c in explorer.controls:
                    if isinstance(c, Range):
                        lo, hi = c.bounds(prefix)
                        got = state["controls"][c.name]
                        assert (int(got["min"]), int(got["max"])) == (lo, hi), f"{where}: {c.name}"
                        assert got["shown"] == got["value"], f"{where}: {c.name} label"
                    prefix[c.name] = values[c.name]
                # ...and its numbers are those of cnnbook's layers.
                _independent_check(name, values, shown)
    finally:
        page.close()
    assert not errors, errors


# ---------------------------------------------------------------------------
# A phone: 390 px wide
# ---------------------------------------------------------------------------

PHONE = """() => {
  const de = document.documentElement;
  const wide = Array.from(document.querySelectorAll("article p, article li, article dd"))
    .filter(el => el.scrollWidth > el.clientWidth + 1)
    .map(el => el.textContent.trim().slice(0, 60));
  const clipped = Array.from(document.querySelectorAll("article caption, article figcaption"))
    .map(c => c.getBoundingClientRect())
    .filter(r => r.width > 0 && (r.left < -1 || r.right > innerWidth + 1)).length;
  const small = [];
  document.querySelectorAll("[data-explorer] *").forEach(el => {
    const text = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (text && size < 11) small.push(`${el.tagName.toLowerCase()} ${size}px`);
  });
  return {pageScroll: de.scrollWidth - de.clientWidth, wide, clipped, small,
          explorers: document.querySelectorAll("[data-explorer]").length};
}"""


@pytest.mark.parametrize("docname", toc_docnames())
def test_page_reads_on_a_phone(docname, built_book, book_server, browser_context):
    """At 390 px: the page never scrolls sideways, no paragraph overflows, every table and
    figure caption is in view, and explorer text is at least 11 px."""
    page = browser_context.new_page()
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(book_server.url(f"{docname}.html"), wait_until="load")
        page.wait_for_load_state("networkidle")
        got = page.evaluate(PHONE)
        if got["explorers"]:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"phone_{docname.replace('/', '_')}.png"),
                            full_page=True)
    finally:
        page.close()
    assert got["pageScroll"] <= 1, f"{docname}: the page scrolls sideways by {got['pageScroll']} px"
    assert not got["wide"], f"{docname}: text wider than the screen: {got['wide'][:3]}"
    assert not got["clipped"], f"{docname}: {got['clipped']} captions out of view"
    assert not got["small"], f"{docname}: explorer text under 11 px: {got['small'][:5]}"
