"""Reading submissions as untrusted files, and lining them up with the source notebook."""

from __future__ import annotations

import json

import pytest

from autograder.grader import notebook as nbmod
from autograder.grader.jobs import CellSpec, NotebookSpec, TestSpec

TEST_SRC = ("assert f(1) == 2\n### BEGIN HIDDEN TESTS\nfrom checks import c\nc.f(f)\n"
            "### END HIDDEN TESTS\n")


def spec():
    nbg = lambda **kw: {"grade": False, "solution": False, "locked": False, **kw}  # noqa: E731
    cells = (
        CellSpec("setup", 1, "code", "locked", "X = 1\n", True, nbg(grade_id="setup", locked=True)),
        CellSpec("f", 2, "code", "solution", "", False, nbg(grade_id="f", solution=True)),
        CellSpec("test_f", 3, "code", "test", "assert f(1) == 2\n", True,
                 nbg(grade_id="test_f", grade=True, locked=True, points=2)),
        CellSpec("g", 4, "code", "solution", "", False, nbg(grade_id="g", solution=True)),
        CellSpec("test_g", 5, "code", "test", "assert g() == 0\n", True,
                 nbg(grade_id="test_g", grade=True, locked=True, points=1)),
    )
    tests = (TestSpec("test_f", 3, 2.0, TEST_SRC, "assert f(1) == 2\n", 2, ("f",), (), 5, 1),
             TestSpec("test_g", 5, 1.0, "assert g() == 0\n", "assert g() == 0\n", 0, ("g",), (),
                      5, 2))
    return NotebookSpec("nb", cells, tests, "import numpy as np", {})


def cell(source, kind="code", **nbgrader):
    md = {"nbgrader": nbgrader} if nbgrader else {}
    return {"cell_type": kind, "metadata": md, "source": source, "outputs": [],
            "execution_count": None}


def submission(cells, **top):
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
                       **top}).encode()


def honest_cells():
    return [cell("import numpy as np\n"),
            cell("X = 1\n", grade_id="setup", locked=True),
            cell("def f(x):\n    return 2 * x\n", grade_id="f", solution=True),
            cell("assert f(1) == 2\n", grade_id="test_f", grade=True, points=2),
            cell("def g():\n    return 0\n", grade_id="g", solution=True),
            cell("assert g() == 0\n", grade_id="test_g", grade=True, points=1)]


def read_plan(cells, **top):
    parsed, _meta, problems = nbmod.read_cells(submission(cells, **top))
    entries, more = nbmod.plan(parsed, spec())
    return entries, problems + more


def kinds(entries):
    return [(e.kind, e.grade_id) for e in entries]


def test_an_honest_notebook_has_no_problems():
    entries, problems = read_plan(honest_cells())
    assert problems == []
    assert kinds(entries) == [("code", None), ("code", "setup"), ("code", "f"),
                              ("test", "test_f"), ("code", "g"), ("test", "test_g")]
    assert entries[3].source == "assert f(1) == 2\n"  # the released test, hidden part stripped


def test_edited_retyped_and_repointed_test_cells_are_graded_from_the_source():
    cells = honest_cells()
    cells[3] = cell("pass\n", grade_id="test_f", grade=False, points=100)
    cells[5] = cell("assert g() == 0\n", kind="markdown", grade_id="test_g", grade=True, points=1)
    entries, problems = read_plan(cells)
    assert kinds(entries)[3] == ("test", "test_f") and kinds(entries)[5] == ("test", "test_g")
    text = " ".join(problems)
    assert "'test_f' was edited" in text and "changed to 100" in text
    assert "grading metadata of test cell 'test_f'" in text
    assert "'test_g' was changed to a markdown cell" in text


def test_deleted_test_cells_go_back_after_the_nearest_earlier_cell():
    cells = honest_cells()
    del cells[5], cells[3]
    entries, problems = read_plan(cells)
    assert kinds(entries) == [("code", None), ("code", "setup"), ("code", "f"),
                              ("test", "test_f"), ("code", "g"), ("test", "test_g")]
    assert sum("missing from the submission" in p for p in problems) == 2
    # when everything before is gone too, the test goes first
    entries, _ = read_plan([cell("assert g() == 0\n", grade_id="test_g", grade=True, points=1)])
    assert kinds(entries) == [("test", "test_f"), ("test", "test_g")]


def test_duplicates_unknown_ids_and_locked_edits():
    cells = honest_cells()
    cells.insert(4, dict(cells[3]))                    # a copied test cell: not run
    # a copied solution
    cells.insert(3, cell("def f(x):\n    return 0\n", grade_id="f", solution=True))
    cells.append(cell("pass\n", grade_id="test_bonus", grade=True, points=50))
    cells.append(cell("pass\n", grade=True, points=50))
    cells[1] = cell("X = 999\n", grade_id="setup", locked=True)
    for c in cells:
        c["id"] = "same"
    entries, problems = read_plan(cells)
    ks = kinds(entries)
    assert ks.count(("test", "test_f")) == 1 and ks.count(("test", "test_g")) == 1
    assert ("dropped", None) in ks
    assert entries[1].source == "X = 1\n"              # the source's read-only cell runs
    assert entries[3].kind == "code" and entries[3].grade_id is None  # copied solution runs
    text = " ".join(problems)
    for words in ("repeats test cell 'test_f'", "repeats the grade_id 'f'",
                  "unknown cell 'test_bonus'", "claims to be graded", "read-only cell 'setup'",
                  "duplicated cell ids"):
        assert words in text, words


@pytest.mark.parametrize("data,words", [
    (b"\x89PNG\r\n\x1a\n", "not UTF-8"),
    (b"{not json", "not valid JSON"),
    (b"[1, 2, 3]", "not a notebook"),
    (json.dumps({"nbformat": 4}).encode(), "no list of cells"),
    (b"{" * 100000, "not valid JSON"),
])
def test_unreadable_files(data, words):
    cells, _meta, problems = nbmod.read_cells(data)
    assert cells is None and words in problems[-1]


def test_damaged_but_readable_notebooks_are_graded_where_possible():
    cells = honest_cells() + [5, {"cell_type": "widget"}, {"cell_type": "code", "source": [1, 2]}]
    parsed, _meta, problems = nbmod.read_cells(submission(cells, nbformat=99))
    assert len(parsed) == 7  # the six good cells and one emptied one
    text = " ".join(problems)
    assert "nbformat '99'" in text and "is not a cell" in text and "'widget'" in text
    assert "no readable source" in text
    v3 = {"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 1",
                                                    "metadata": {}}]}]}
    parsed, _meta, problems = nbmod.read_cells(json.dumps(v3).encode())
    assert parsed[0].source == "x = 1" and "nbformat 3" in problems[0]


def test_lone_surrogates_in_a_source_become_replacement_characters():
    cells = honest_cells()
    cells[2]["source"] = "def f(x):\n    return 2 * x  # \ud800 \udfff\n"
    parsed, _meta, problems = nbmod.read_cells(submission(cells))  # written as \\ud800
    assert parsed[2].source == "def f(x):\n    return 2 * x  # \ufffd \ufffd\n"
    assert parsed[2].source.encode("utf-8")  # what the gradebook must store
    assert problems == ["cell 2 holds a lone surrogate (not Unicode text); replaced by U+FFFD"]
    cells[2]["source"] = "# \U0001f600 is a pair in JSON, and one character\n"
    parsed, _meta, problems = nbmod.read_cells(submission(cells))
    assert parsed[2].source == cells[2]["source"] and not problems


def test_hidden_region_and_names():
    visible, line = nbmod.split_hidden(TEST_SRC)
    assert visible == "assert f(1) == 2\n" and line == 2
    assert nbmod.split_hidden("x = 1\n") == ("x = 1\n", 0)
    src = ("import numpy as np\nfrom m import k\ny = f(np.ones(2)) + k\n"
           "for i in range(3):\n    g(i, z)\n")
    assert nbmod.free_names(src) == ["f", "g", "z"]
    stmts, modules = nbmod.imports_of(
        "import numpy as np\nif 1:\n    import os\nfrom a.b import c\n")
    assert stmts == ["import numpy as np", "from a.b import c"] and modules == ["numpy", "a.b"]
    assert nbmod.bound_by(stmts) == {"np", "c"}
