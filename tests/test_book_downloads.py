"""Every chapter page links notebooks that the build wrote and that open with nbformat.

Each chapter links its own notebook (``notebooks/<chapter>.ipynb``, with the outputs of
the build and the glued numbers written into the text) and, where the chapter has one, its
assignment's student notebook (``notebooks/<assignment>.ipynb``, nbgrader's release:
no solutions, no hidden tests).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from test_book_build import numbered_docnames

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = {"01": "ps01_convolution", "02": "ps02_conv_backprop", "03": "ps03_pooling",
              "04": "ps04_receptive_fields", "05": "ps05_lenet", "06": "ps06_alexnet_vgg",
              "07": "ps06_alexnet_vgg", "08": "ps07_googlenet", "11": None}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") or ""
        if tag == "a" and href.endswith(".ipynb"):
            self.links.append(href)


def linked_notebooks(page: Path) -> list[Path]:
    parser = _Links()
    parser.feed(page.read_text())
    return [(page.parent / href).resolve() for href in dict.fromkeys(parser.links)]


def test_every_chapter_has_an_assignment_listed_here():
    chapters = numbered_docnames()
    assert [Path(c).name[:2] for c in chapters] == sorted(ASSIGNMENT)


@pytest.mark.parametrize("doc", numbered_docnames())
def test_chapter_links_its_notebooks_and_they_open(doc, built_book):
    page = built_book.page(doc)
    links = linked_notebooks(page)
    stem = Path(doc).name
    expected = {built_book.html / "notebooks" / f"{stem}.ipynb"}
    assignment = ASSIGNMENT[stem[:2]]
    if assignment:
        expected.add(built_book.html / "notebooks" / f"{assignment}.ipynb")
    assert set(links) == {p.resolve() for p in expected}, f"{doc} links {links}"
    for path in links:
        assert path.is_relative_to(built_book.html.resolve()), f"{path} lies outside the build"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.cells, f"{path.name} has no cells"
    # the links are in the page's text (Exercises) and in the download menu
    html = page.read_text()
    assert html.count(f"notebooks/{stem}.ipynb") >= 2


@pytest.mark.parametrize("doc", numbered_docnames())
def test_chapter_notebook_has_outputs_and_readable_text(doc, built_book):
    nb = nbformat.read(built_book.html / "notebooks" / f"{Path(doc).name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert sum(bool(c.outputs) for c in code) >= len(code) // 3, "outputs are missing"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert not re.search(r"\{glue(:text)?\}`", text), "glue roles left in the text"
    source = (ROOT / f"{doc}.md").read_text()
    title = re.search(r"^# (.+)$", source, re.M).group(1)
    assert nb.cells[0].source.startswith(f"# {title}")


@pytest.mark.parametrize("assignment", sorted({a for a in ASSIGNMENT.values() if a}))
def test_student_notebook_is_the_release(assignment, built_book):
    """Solutions stubbed and hidden tests removed, every other cell as in the source."""
    source = nbformat.read(ROOT / "exercises" / "source" / assignment / f"{assignment}.ipynb",
                           as_version=4)
    student = nbformat.read(built_book.html / "notebooks" / f"{assignment}.ipynb",
                            as_version=4)
    assert len(student.cells) == len(source.cells)
    stubs = hidden = 0
    for src, out in zip(source.cells, student.cells):
        grade = src.metadata.get("nbgrader", {})
        assert out.cell_type == src.cell_type
        assert "### BEGIN SOLUTION" not in out.source
        assert "### BEGIN HIDDEN TESTS" not in out.source and "BEGIN HIDDEN" not in out.source
        if grade.get("solution") and src.cell_type == "code":
            assert "raise NotImplementedError()" in out.source, src.metadata
            stubs += 1
        elif "### BEGIN HIDDEN TESTS" in src.source:
            visible = src.source.split("### BEGIN HIDDEN TESTS")[0].strip()
            assert out.source.strip() == visible
            hidden += 1
        elif not grade.get("solution"):
            assert out.source == src.source
        assert not out.get("outputs")
    assert stubs > 0 and hidden > 0, "no solution or hidden test seen: is this the source?"
