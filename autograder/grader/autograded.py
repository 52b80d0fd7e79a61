"""The autograded notebook: what formgrader, ``nbgrader generate_feedback`` and the
gradebook read after a submission is graded.

The submission's cells in the order graded (read-only cells and test cells as released,
hidden tests NOT included), each test cell with its outcome as its output and each code
cell with what it printed or raised. Everything in it came from the submission or from
the grader's messages about it.
"""

from __future__ import annotations

from . import notebook as nbmod
from .results import NotebookResult, Status, TestResult


def _test_outputs(t: TestResult) -> list:
    if t.passed:
        return [{"output_type": "stream", "name": "stdout",
                 "text": f"passed: {t.points:g} of {t.max_points:g} points\n"}]
    where = f" (in the {t.part})" if t.part else ""
    ename = {Status.FAILED: "AssertionError", Status.TIMEOUT: "Timeout",
             Status.CRASHED: "ProcessEnded", Status.FORBIDDEN: "ForbiddenReference",
             Status.NOT_RUN: "NotRun"}.get(t.status, "Error")
    return [{"output_type": "error", "ename": ename, "evalue": t.message + where,
             "traceback": [f"{ename}: {t.message}{where}"]}]


def build_autograded(nb_spec, entries, metadata, result: NotebookResult, outputs, why) -> dict:
    """The graded notebook: the submission's cells (read-only cells and test cells as in
    the release, hidden tests NOT included) with each test's outcome as its output."""
    by_id = {t.grade_id: t for t in result.tests}
    cells = []
    if entries is None:
        cells.append({"cell_type": "markdown", "metadata": {},
                      "source": f"**This notebook could not be graded:** {why}"})
        entries = [nbmod.Entry("test", t.visible, "code", t.grade_id, None,
                               next((c.nbgrader for c in nb_spec.cells
                                     if c.grade_id == t.grade_id), None))
                   for t in nb_spec.tests]
    for i, e in enumerate(entries):
        md = dict(e.metadata)
        if e.nbgrader is not None:
            md["nbgrader"] = dict(e.nbgrader)
        if e.cell_type != "code":
            cells.append({"cell_type": e.cell_type, "metadata": md, "source": e.source})
            continue
        outs = []
        if e.kind == "test" and e.grade_id in by_id:
            outs = _test_outputs(by_id[e.grade_id])
        elif i in outputs:
            text, err, ename = outputs[i]
            if text:
                outs.append({"output_type": "stream", "name": "stdout", "text": text})
            if err:
                outs.append({"output_type": "error", "ename": ename, "evalue": err,
                             "traceback": [err]})
        cells.append({"cell_type": "code", "metadata": md, "source": e.source,
                      "execution_count": None, "outputs": outs})
    for n, cell in enumerate(cells):  # nbformat 4.5: unique ids
        cell["id"] = f"cell-{n}"
    meta = {k: v for k, v in (nb_spec.metadata or metadata or {}).items()  # the source's
            if k in ("kernelspec", "language_info")}
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


