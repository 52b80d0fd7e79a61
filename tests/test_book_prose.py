"""The built pages hold the book's conventions: numbers for people, figures with numbered
captions and alt text that says what they show, padded tables, one notation.

Run against ``_build/html`` (the ``built_book`` fixture builds it).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from test_book_build import numbered_docnames, toc_docnames

pytestmark = pytest.mark.slow

E_NOTATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.])")
# Text inside these is code or typeset maths, not prose.
SKIP_TAGS = {"script", "style", "pre", "code", "kbd", "samp", "math", "annotation"}
SKIP_CLASSES = {"highlight", "katex", "cell_output", "output", "cnnbook-explorer"}


class Prose(HTMLParser):
    """The page's prose text, and its figures: each <img> with its alt and its caption."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text, self.figures, self.images = [], [], [], []
        self._caption = None

    def _skipping(self) -> bool:
        return any(tag in SKIP_TAGS or classes & SKIP_CLASSES for tag, classes in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag == "img":
            self.images.append({"alt": a.get("alt"), "src": a.get("src", ""),
                                "in_figure": any(t == "figure" for t, _ in self.stack)})
            if any(t == "figure" for t, _ in self.stack):
                self.figures[-1]["images"].append(a.get("alt"))
            return
        if tag in ("br", "hr", "meta", "link", "input", "source", "wbr"):
            return
        if tag == "figure":
            self.figures.append({"caption": "", "images": []})
        if tag == "figcaption":
            self._caption = []
        self.stack.append((tag, classes))

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag == "figcaption" and self._caption is not None and self.figures:
            self.figures[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None

    def handle_data(self, data):
        if self._caption is not None:
            self._caption.append(data)
        if not self._skipping():
            self.text.append(data)


def read(page) -> Prose:
    parser = Prose()
    parser.feed(page.read_text())
    return parser


@pytest.mark.parametrize("doc", toc_docnames())
def test_no_number_in_e_notation(doc, built_book):
    prose = " ".join(read(built_book.page(doc)).text)
    found = sorted(set(E_NOTATION.findall(prose)))
    assert not found, f"{doc}: numbers in e-notation in the text: {found}"


@pytest.mark.parametrize("doc", toc_docnames())
def test_every_figure_has_a_numbered_caption_and_alt_text(doc, built_book):
    page = read(built_book.page(doc))
    content = [im for im in page.images if "_images/" in im["src"]]
    for image in content:
        assert image["in_figure"], f"{doc}: {image['src']} is not in a figure with a caption"
        alt = image["alt"] or ""
        assert len(alt.split()) >= 6, f"{doc}: {image['src']} has alt text {alt!r}"
        assert not re.search(r"[0-9a-f]{16}|\.png|\.jpe?g", alt), \
            f"{doc}: alt {alt!r} is a file name"
    number = re.escape(doc.split("/")[-1][:2].lstrip("0"))
    for figure in page.figures:
        if not figure["images"]:
            continue
        assert figure["caption"], f"{doc}: a figure without a caption"
        if doc in numbered_docnames():
            assert re.match(rf"Fig\. {number}\.\d+", figure["caption"]), \
                f"{doc}: caption not numbered: {figure['caption'][:60]!r}"


def test_chapters_have_figures(built_book):
    counts = {doc: len([f for f in read(built_book.page(doc)).figures if f["images"]])
              for doc in numbered_docnames()}
    assert all(n >= 2 for n in counts.values()), counts


@pytest.mark.parametrize("doc", ["book/05_lenet", "book/06_alexnet", "book/07_vgg",
                                 "book/08_googlenet"])
def test_architecture_chapters_draw_their_network_from_the_spec(doc, built_book):
    captions = [f["caption"] for f in read(built_book.page(doc)).figures]
    assert any("drawn from its spec" in c for c in captions), captions


def test_one_notation_in_the_sources():
    """The symbols the preface retired do not come back: k_1/k_2 and k_h/k_w for the kernel
    size (K_h, K_w), b_0 for the bias (b), X(i, j)-style entries (X_{i,j})."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "book"
    retired = re.compile(r"k_1|k_2|k_h|k_w|b_0|\b[KXY]\([a-z0-9+ -]+,|\\delta\(i")
    for path in sorted(root.glob("*.md")):
        maths = re.findall(r"\$\$.*?\$\$|\$[^$\n]+\$", path.read_text(), re.S)
        bad = [m for m in maths if retired.search(m)]
        assert not bad, f"{path.name}: {bad[:3]}"
