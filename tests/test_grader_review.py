"""Code flagged for review by hand (autograder/grader/review.py): introspection that can
defeat the in-process guard or the checks is named, with its cell, in the student's
feedback, the printed summary and the class report; honest code is not flagged; no
points are taken."""

from __future__ import annotations

import json

import pytest

from adversarial import tampering
from autograder.grader import class_report, feedback, outputs, report, review
from autograder.grader.results import (NotebookResult, NotebookStatus, Status,
                                       SubmissionResult, TestResult)

FLAGGED = {
    "sys.getprofile": "import sys\np = sys.getprofile()\n",
    "__globals__": "def f():\n    pass\ng = f.__globals__\n",
    "__closure__": "h = (lambda: 1).__closure__\n",
    "cell_contents": "x = c.cell_contents\n",
    "sys._getframe": "import sys\nf = sys._getframe(1)\n",
    "sys.settrace": "import sys\nsys.settrace(None)\n",
    "gc.get_objects": "import gc\nobjs = gc.get_objects()\n",
    "gc.get_referrers": "from gc import get_referrers\n",
    "__code__": "code = len.__code__\n",
    "replace(co_consts=...)": "c2 = c.replace(co_consts=())\n",
    "types.CodeType": "import types\nT = types.CodeType\n",
    "types.FunctionType": "import types\nf = types.FunctionType(c, {})\n",
    "import ctypes": "import ctypes\n",
    "sys.modules[...] =": "import sys\nsys.modules['numpy'] = None\n",
    "__builtins__": "__builtins__['len'] = max\n",
    "exec()": "exec('x = 1')\n",
    "eval()": "y = eval('1 + 1')\n",
    "compile()": "c = compile('1', 'f', 'eval')\n",
    "f_back": "import inspect\nup = inspect.currentframe().f_back\n",
    "__code__ (by getattr)": "code = getattr(len, '__code__')\n",
}

HONEST = [
    "import numpy as np\n\ndef conv(x, w):\n    return np.einsum('nchw,fchw->nf', x, w)\n",
    "import sys\nprint(sys.version)\nassert 'numpy' in sys.modules\n",
    "import gc\ngc.collect()\n",
    "import torch\nimport torch.nn.functional as F\nmodel = torch.nn.Linear(2, 3)\n",
    "%timeit x = 1\n",
    "text = 'we could use exec here, or __code__'\n",
]


@pytest.mark.parametrize("what", sorted(FLAGGED))
def test_each_kind_of_introspection_is_flagged(what):
    found = review.scan([(7, FLAGGED[what])])
    assert found and found[0][0] == 7, found
    shown = what.split(" (")[0]
    assert shown in found[0][1], found


@pytest.mark.parametrize("src", HONEST)
def test_honest_code_is_not_flagged(src):
    assert review.scan([(1, src)]) == []


def test_a_cell_that_does_not_parse_is_searched_by_word():
    found = review.scan([(2, "%time p = sys.getprofile()\nx = f.__globals__\n")])
    assert found and {"__globals__", "getprofile"} <= set(found[0][1])


def test_the_findings_attacks_are_flagged():
    for attack in tampering.GUARDED:
        if attack.name.startswith(("guard_", "reference_laundered")):
            cells = [(i + 1, src) for i, src in enumerate(attack.answers.values())]
            assert review.notes(cells), attack.name


def _result(student, cells, score=1.0):
    nb = {"cells": [{"cell_type": "markdown", "source": "# ps"}]
          + [{"cell_type": "code", "source": src, "metadata": {}, "outputs": []} for src in cells],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    t = TestResult("test_a", "nb", score, 1.0, Status.PASSED if score else Status.FAILED)
    nbr = NotebookResult("nb", NotebookStatus.GRADED, tests=[t], autograded=nb)
    return SubmissionResult(student, "ps", notebooks=[nbr])


def test_a_flag_reaches_the_feedback_the_summary_and_the_class_report(tmp_path):
    sneaky = _result("sneaky", ["import sys\np = sys.getprofile()\n", "x = 1\n"])
    honest = _result("honest", ["x = 1\n"])
    for r in (sneaky, honest):
        outputs.flag_for_review(r)
        outputs.flag_for_review(r)  # once, however often it is asked
    assert sneaky.notes == ["uses sys.getprofile (cell 2): " + review.NOTE_END]
    assert honest.notes == []
    assert sneaky.score == 1.0  # no points taken
    page = feedback.feedback_html(sneaky)
    assert "uses sys.getprofile (cell 2)" in page and "review by hand" in page
    assert "review by hand" not in feedback.feedback_html(honest)

    class _Spec:
        name = "ps"
        notebooks = ()
    text = report.summary([sneaky, honest], _Spec(), 1.0, "1 worker")
    assert "FOR REVIEW BY HAND" in text and "sneaky (1 cell)" in text
    assert "honest" not in text.split("FOR REVIEW BY HAND")[1]
    rows = [outputs.jsonable(r) for r in (sneaky, honest)]
    records = class_report.records_from_rows(json.loads(json.dumps(rows)))
    page = class_report.report_html("ps", records, contracts={})
    section = page.split("<h2>For review by hand</h2>")[1]
    assert "sneaky" in section and "honest" not in section
    assert "uses sys.getprofile (cell 2)" in section


@pytest.mark.slow
def test_a_recorded_batch_flags_the_submission_in_every_output(tmp_path):
    """Through ``grade_assignment`` as an instructor runs it (the gradebook recorded, the
    graded notebooks let go as they are written): the flag is in the feedback page,
    results.json and the class report of the one student whose code introspects."""
    from adversarial import tinycourse as tc
    from autograder.grader import grade_assignment

    paths = tc.fresh(tmp_path)
    course = paths["course"]
    tc.submit(course, "honest", tc.submission(course))
    tc.submit(course, "sneaky", tc.submission(
        course, {"scale": "import sys\n_p = sys.getprofile()\n\ndef scale(x, a):\n"
                          "    return x * a\n"}))
    report_ = grade_assignment(tc.options(paths, tmp_path, workers=1))
    by = {r.student: r for r in report_.results}
    assert any("sys.getprofile" in n for n in by["sneaky"].notes), by["sneaky"].notes
    assert not any("review by hand" in n for n in by["honest"].notes)
    assert by["sneaky"].score == by["honest"].score  # no points taken
    reports = tmp_path / "reports"
    assert "review by hand" in (reports / "feedback" / "sneaky.html").read_text()
    assert "review by hand" not in (reports / "feedback" / "honest.html").read_text()
    section = (reports / "class-report.html").read_text().split("For review by hand")[1]
    assert "sneaky" in section and "honest" not in section
