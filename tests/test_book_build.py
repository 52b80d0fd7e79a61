"""The book builds with -W, every page of the table of contents exists, nothing is online.

The build itself happens once per session in the ``built_book`` fixture (conftest.py).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# Building the book takes from seconds (cached) to minutes (fresh clone).
pytestmark = pytest.mark.slow


def toc_docnames(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """Every document named in _toc.yml (root first), in reading order."""
    toc = yaml.safe_load(toc_path.read_text())
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key))

    for key in ("parts", "chapters"):
        walk(toc.get(key))
    return [re.sub(r"\.(md|ipynb)$", "", n) for n in names]


def numbered_docnames(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """Chapters in parts marked ``numbered: true``."""
    toc = yaml.safe_load(toc_path.read_text())
    out = []
    for part in toc.get("parts") or []:
        if part.get("numbered"):
            out += [c["file"] for c in part.get("chapters") or [] if "file" in c]
    return [re.sub(r"\.(md|ipynb)$", "", n) for n in out]


class _Resources(HTMLParser):
    """Collects the URLs a browser fetches by itself when it opens a page."""

    LOADS = {("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src"),
             ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data"),
             ("input", "src"), ("track", "src")}
    LINK_RELS = {"stylesheet", "icon", "preload", "modulepreload", "prefetch", "manifest",
                 "apple-touch-icon", "shortcut"}

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for t, attr in self.LOADS:
            if tag == t and attrs.get(attr):
                self.urls.append(attrs[attr])
        if tag == "link" and set((attrs.get("rel") or "").split()) & self.LINK_RELS:
            self.urls.append(attrs.get("href") or "")
        if tag == "img" and attrs.get("srcset"):
            self.urls += [part.split()[0] for part in attrs["srcset"].split(",") if part.strip()]


def built_pages(html: Path) -> list[Path]:
    skip = {"_static", "_sources", "_images", "reports", "_downloads"}
    return sorted(p for p in html.rglob("*.html") if not skip & set(p.relative_to(html).parts))


def test_build_succeeds_with_warnings_as_errors(built_book):
    assert "build succeeded" in built_book.log
    assert (built_book.html / "index.html").exists()


def test_every_toc_entry_has_a_page(built_book):
    names = toc_docnames()
    assert names[0] == "book/intro"
    missing = [n for n in names if not built_book.page(n).exists()]
    assert not missing, f"toc entries without an HTML page: {missing}"


def test_no_cell_failed(built_book):
    assert not built_book.reports, "notebooks with failing cells: " + ", ".join(
        str(p.relative_to(built_book.html)) for p in built_book.reports)
    assert "Executing notebook failed" not in built_book.log


def test_pages_load_nothing_from_the_internet(built_book):
    offenders = {}
    for page in built_pages(built_book.html):
        parser = _Resources()
        parser.feed(page.read_text(errors="replace"))
        external = [u for u in parser.urls if re.match(r"^(https?:)?//", u)]
        if external:
            offenders[str(page.relative_to(built_book.html))] = external
    assert not offenders, f"pages that fetch from the internet: {offenders}"


def test_stylesheets_import_nothing_from_the_internet(built_book):
    pattern = re.compile(r"(@import\s+(url\()?\s*['\"]?|url\(\s*['\"]?)(https?:)?//")
    offenders = [str(css.relative_to(built_book.html))
                 for css in (built_book.html / "_static").rglob("*.css")
                 if pattern.search(css.read_text(errors="replace"))]
    assert not offenders, f"stylesheets that fetch from the internet: {offenders}"


def test_vendored_assets_are_published_and_referenced(built_book):
    static = built_book.html / "_static"
    for rel in ("katex/katex.min.css", "katex/fonts/KaTeX_Main-Regular.woff2", "icons.css"):
        assert (static / rel).exists(), f"_static/{rel} missing: run scripts/vendor-web-assets.sh"
    intro = built_book.page("book/intro").read_text()
    links = [re.sub(r"^(\.\./)*_static/|\?.*$", "", h)
             for h in re.findall(r'<link[^>]*href="([^"]+)"', intro)]
    for needed in ("katex/katex.min.css", "icons.css"):
        assert needed in links, f"intro page does not load {needed}; it loads {links}"


def test_pages_load_no_heavy_script(built_book):
    """Formulas are typeset when the book is built, explorers need no widget manager, icons
    are CSS: no page loads MathJax, require.js, the ipywidgets manager or fontawesome.js."""
    heavy = ("mathjax", "require.js", "embed-amd.js", "fontawesome.js", "html-manager")
    for page in built_pages(built_book.html):
        srcs = re.findall(r'<script[^>]*src="([^"]+)"', page.read_text(errors="replace"))
        found = [s for s in srcs if any(h in s for h in heavy)]
        assert not found, f"{page.relative_to(built_book.html)} loads {found}"


def test_every_formula_is_typeset_at_build_time(built_book):
    counted = 0
    for doc in toc_docnames():
        html = built_book.page(doc).read_text()
        maths = re.findall(r'<(span|div) class="math notranslate nohighlight"[^>]*>(.{0,400})',
                           html, re.S)
        counted += len(maths)
        raw = [body[:80] for _, body in maths if 'class="katex' not in body]
        assert not raw, f"{doc}: formulas left as TeX: {raw[:3]}"
    assert counted > 300


def test_intro_page_has_an_explorer_math_and_figure(built_book):
    intro = built_book.page("book/intro").read_text()
    assert 'data-explorer="convolution"' in intro and "data-explorer-output" in intro
    assert 'type="application/vnd.jupyter.widget-state+json"' not in intro
    assert 'class="katex' in intro
    assert re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', intro)


def test_intro_glued_number_matches_an_independent_computation(built_book):
    from cnnbook.widgets import EXAMPLE_INPUT, EXAMPLE_KERNEL

    intro = built_book.page("book/intro").read_text()
    match = re.search(r'<span class="output text_plain">(\d+)</span>\s+products add up to\s+'
                      r'<span class="output text_plain">(\d+)</span>', intro)
    assert match, "the glued sentence about the first output is missing from the intro"
    window = np.asarray(EXAMPLE_INPUT)[:3, :3]
    by_hand = sum(int(window[a, b]) * int(EXAMPLE_KERNEL[a, b])
                  for a in range(3) for b in range(3))
    assert int(match.group(1)) == 9
    assert int(match.group(2)) == by_hand == 65


def test_numbered_chapters_carry_their_number(built_book):
    chapters = numbered_docnames()
    assert chapters, "_toc.yml has no numbered chapter"
    for number, doc in enumerate(chapters, start=1):
        html = built_book.page(doc).read_text()
        found = re.search(r'<h1[^>]*>\s*<span class="section-number">([\d.]+)\s*</span>', html)
        assert found and found.group(1).rstrip(".") == str(number), (
            f"{doc}: expected chapter number {number}; got {found and found.group(1)!r}")


def test_toc_parser_reads_parts_and_sections(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: A\n    chapters:\n      - file: book/00_preface\n"
        "  - caption: B\n    numbered: true\n    chapters:\n"
        "      - file: book/01_convolution\n        sections:\n          - file: book/01a\n"
        "      - file: book/02_backprop.md\n")
    assert toc_docnames(toc) == ["book/intro", "book/00_preface", "book/01_convolution",
                                 "book/01a", "book/02_backprop"]
    assert numbered_docnames(toc) == ["book/01_convolution", "book/02_backprop"]
