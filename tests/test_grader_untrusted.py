"""What a submission wrote, shown without acting: the helpers for HTML, terminals, CSV cells,
student ids, markdown and rendered notebooks (``autograder/grader/untrusted.py``)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings

import pytest

from autograder.grader import untrusted as u

CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x9b", "\u200b", "\u202e", "\u2066", "\u2028",
            "\ufeff"]


@pytest.mark.parametrize("ch", CONTROLS)
def test_terminal_text_shows_every_control_as_an_escape(ch):
    out = u.terminal_text(f"a{ch}[31mb\nc")
    assert all(unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp") for c in out)
    assert "\\" in out and out.startswith("a") and "\\x0a" in out  # one line
    assert u.terminal_text("a\nb", multiline=True) == "a\nb"
    assert u.terminal_text("x" * 50, limit=10) == "x" * 7 + "..."


def test_html_text_escapes_markup_and_shows_controls():
    out = u.html_text("<script>alert('x')</script>&\x1b[2J\"\n")
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
    assert "\x1b" not in out and "\\x1b" in out and "\n" in out
    assert "\n" not in u.html_text("a\nb", multiline=False)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff20"])
def test_csv_cell_neutralises_every_formula_start(start):
    cell = u.csv_cell(f"{start}1+2")
    assert cell == f"'{start}1+2"
    assert u.csv_cell(cell) == cell  # idempotent: a merged CSV is not prefixed twice
    buf = io.StringIO()
    csv.writer(buf).writerow([cell])
    assert next(csv.reader(io.StringIO(buf.getvalue())))[0] == cell


def test_csv_cell_leaves_plain_text_and_numbers():
    for value in ("ada", "7", "0.5", "2030-01-01T12:00:00", "", "a=b"):
        assert u.csv_cell(value) == value
    assert u.csv_cell(None) == "" and u.csv_cell(3) == "3" and u.csv_cell("a\x00b") == "ab"


@pytest.mark.parametrize("name", ["ada", "a.b", "A_1", "x@uni.edu", "jean-luc", "_x", "7",
                                  "a" * 100])
def test_valid_student_ids(name):
    assert u.student_id_problem(name) is None
    assert u.check_student_id(name) == name


@pytest.mark.parametrize("name,words", [
    ("", "empty"), ("a" * 101, "101 characters"), (".hidden", "starts with '.'"),
    ("-rf", "starts with '-'"), ("@x", "starts with '@'"), ("=1+2", "'='"),
    ("a b", "' '"), ("a/b", "'/'"), ("ada\nbob", "\\x0a"), ("a\x1b[2J", "\\x1b"),
    ("<img>", "'<'"), ("é", "'é'"), ("..", "starts with '.'"),
])
def test_invalid_student_ids_say_why(name, words):
    problem = u.student_id_problem(name)
    assert problem is not None and words in problem
    assert "\x1b" not in problem and "\n" not in problem
    with pytest.raises(ValueError, match="student"):
        u.check_student_id(name, "student")
    assert "must be a str" in u.student_id_problem(3)


def test_shown_name_is_quoted_visible_and_short():
    assert u.shown_name("a\x1bb") == "'a\\x1bb'"
    assert u.shown_name("it's") == "'it\\'s'"
    assert len(u.shown_name("x" * 500)) == 82


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[a](javascript:alert(1))",
    "[a](JaVaScRiPt:alert(1))", "[a]( javascript :alert(1))", "<javascript:alert(1)>",
    "![x](data:text/html,<script>alert(1)</script>)", "[a](vbscript:msgbox(1))",
    "$\\href{javascript:alert(1)}{x}$", "[a](&#106;avascript:alert(1))", "[f](file:///etc/passwd)",
])
def test_markdown_text_is_inert(text):
    out = u.markdown_text(text)
    assert "<" not in out and ">" not in out
    assert not re.search(r"(?i)(javascript|vbscript|data|file)\s*:", out)
    assert "&#" not in out.replace("&amp;#", "")
    assert u.markdown_text(out) == out  # idempotent: autograde, then feedback


def test_markdown_text_keeps_ordinary_writing():
    text = "The **gradient** is $a_1 + b$; see [the book](https://example.org/x). Note: 3 > 2"
    out = u.markdown_text(text)
    assert "**gradient**" in out and "[the book](https://example.org/x)" in out
    assert "Note: 3 &gt; 2" in out


def _hostile_notebook():
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "<script>x</script>"},
                     "language_info": {"name": "python\" onload=\"x"},
                     "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}},
        "cells": [
            {"cell_type": "markdown", "id": "m", "source": "<script>alert(1)</script>",
             "metadata": {"tags": ['x" onmouseover="alert(2)'], "nbgrader": {"grade_id": "w"}},
             "attachments": {"a.svg": {"image/svg+xml": "<svg onload=alert(3)/>"}}},
            {"cell_type": "raw", "id": "r", "source": "<script>alert(4)</script>",
             "metadata": {"raw_mimetype": "text/html"}},
            {"cell_type": "code", "id": "c", "source": "x", "execution_count": "1<",
             "metadata": {"tags": ["y"]},
             "outputs": [
                 {"output_type": "display_data",
                  "metadata": {"image/png": {"width": '1" onload="x'}},
                  "data": {"text/html": "<script>alert(5)</script>",
                           "application/javascript": "alert(6)",
                           "image/svg+xml": "<svg onload=alert(7)/>",
                           "image/png": 'AAAA" onerror="alert(8)'}},
                 {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                  "data": {"text/plain": "1", "text/latex": "$\\href{javascript:alert(9)}{x}$"}},
                 {"output_type": "stream", "name": "stdout", "text": "<b>printed</b>"},
                 {"output_type": "error", "ename": "E", "evalue": "<script>", "traceback": ["<i>"]},
                 {"output_type": "unknown", "data": {"text/html": "<script>"}},
             ]},
            {"cell_type": "code", "id": "c", "source": "dup id", "outputs": [], "metadata": {},
             "execution_count": None},
        ]}


def test_neutralise_notebook_keeps_only_inert_content():
    nb = u.neutralise_notebook(_hostile_notebook())
    md, raw, code, dup = nb["cells"]
    assert md["metadata"] == {"nbgrader": {"grade_id": "w"}} and "attachments" not in md
    assert "<" not in md["source"]
    assert raw["cell_type"] == "markdown" and raw["metadata"] == {} and "<" not in raw["source"]
    assert code["metadata"] == {} and code["execution_count"] is None
    display, result, stream, error = code["outputs"]
    assert display["data"] == {"text/plain": "[output not shown: application/javascript, "
                                             "image/png, image/svg+xml, text/html]"}
    assert display["metadata"] == {}
    assert result["data"] == {"text/plain": "1"}
    assert stream["text"] == "<b>printed</b>" and error["evalue"] == "<script>"  # text outputs
    assert nb["metadata"] == {"kernelspec": {"name": "python3", "display_name": "python3"}}
    assert len({c["id"] for c in nb["cells"]}) == 4


def test_a_neutralised_notebook_renders_without_anything_active():
    """Through nbconvert's classic template, as nbgrader's feedback and formgrader do."""
    import nbformat
    from nbconvert import HTMLExporter

    from test_grader_adversarial import active_content

    node = nbformat.from_dict(u.neutralise_notebook(_hostile_notebook()))
    nbformat.validate(node)
    page, _ = HTMLExporter(template_name="classic").from_notebook_node(node)
    found = active_content(page)
    assert not found.found, found.found
    # the template's own scripts only: its CDN libraries and inline set-up, never text
    # from the notebook (active_content reports a script holding the submission's alert)
    assert all(s.get("src", "https://cdnjs.cloudflare.com/").startswith(
        "https://cdnjs.cloudflare.com/") for s in found.scripts), found.scripts
    assert "alert(1)" in page  # shown as text
    # and the hostile notebook itself is active: the test can fail
    hostile = _hostile_notebook()
    hostile["cells"][2]["outputs"].pop()  # nbconvert refuses an unknown output type
    hostile["cells"][3]["id"] = "d"
    hostile["cells"][2]["execution_count"] = 1
    with warnings.catch_warnings():  # pygments: no lexer for the hostile language name
        warnings.simplefilter("ignore", UserWarning)
        raw, _ = HTMLExporter(template_name="classic").from_notebook_node(
            nbformat.from_dict(hostile))
    assert active_content(raw).found
