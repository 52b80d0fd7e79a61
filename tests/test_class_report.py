"""The instructor's class report (autograder/grader/class_report.py): what the class got
wrong, counted from the contract tags of failed tests; nothing a submission wrote shown."""

from __future__ import annotations

import json
import re

import pytest

from autograder.checks import ps01
from autograder.grader import class_report as cr

TESTS = [("test_conv_output_size", 2), ("test_conv2d_forward", 3), ("test_conv2d_forward_speed", 1)]


def _row(student, failed=(), error=None):
    """A results.json row: ``failed`` maps a test to (status, message)."""
    failed = dict(failed)
    tests = []
    for gid, pts in TESTS:
        status, message = failed.get(gid, ("passed", ""))
        tests.append({"grade_id": gid, "points": 0.0 if gid in failed else float(pts),
                      "max_points": float(pts), "status": status, "message": message})
    return {"student": student, "error": error, "notebooks": [{"tests": tests}]}


def _class():
    tag = ("conv2d_forward modifies its argument `x` (hidden case 2) "
           "[contract conv2d_forward: x-unmodified]")
    both = ("conv2d_forward is wrong when `stride` > 1 [contract conv2d_forward: stride, "
            "x-unmodified]")
    rows = [_row(f"ok{i}") for i in range(6)]
    rows += [_row("a", {"test_conv2d_forward": ("failed", tag)}),
             _row("b", {"test_conv2d_forward": ("failed", both),
                        "test_conv2d_forward_speed": ("failed", tag)}),
             _row("c", {"test_conv2d_forward": ("failed", both)}),
             # tags a submission could forge in its own text: not the contracts' own
             _row("d", {"test_conv_output_size": ("error", "ValueError [contract conv2d_forward: "
                                                  "no-such-property] [contract evil: x] "
                                                  "<script>alert(1)</script>")}),
             _row("e", error="grader error: something broke")]
    return rows


def test_violations_count_each_submission_once_per_contract_property():
    records = cr.records_from_rows(_class())
    found = cr.violations([r for r in records if r.graded], ps01.CONTRACTS)
    counts = {(v.function, v.property): v.students for v in found}
    assert counts == {("conv2d_forward", "x-unmodified"): 3, ("conv2d_forward", "stride"): 2}
    first = found[0]
    assert (first.property, first.text) == ("x-unmodified", "modifies its argument `x`")
    assert first.tests == ("test_conv2d_forward", "test_conv2d_forward_speed")


def test_the_page_gives_shares_pass_rates_and_a_histogram_and_nothing_submitted():
    page = cr.report_html("ps01_convolution", cr.records_from_rows(_class()), ps01.CONTRACTS)
    text = re.sub(r"<[^>]+>", " ", page)
    assert "10 submissions graded" in text and "1 not graded" in text
    assert re.search(r"30%\s*\(3\)\s*conv2d_forward\s+modifies its argument `x`", text)
    assert re.search(r"20%\s*\(2\)\s*conv2d_forward\s+is wrong when `stride` > 1",
                     html_unescape(text))
    # pass rates per test: 9 of 10 passed the output size, 7 of 10 the forward pass
    assert re.search(r"test_conv_output_size\s+2\s+9/10 \(90%\)", text)
    assert re.search(r"test_conv2d_forward\s+3\s+7/10 \(70%\)", text)
    # the histogram: 6 full marks (6 points); a and c lost 3, b 4, d 2
    bars = re.findall(r"<title>score ([\d.]+): (\d+)</title>", page)
    assert dict((float(s), int(n)) for s, n in bars if n != "0") == {6.0: 6, 3.0: 2, 2.0: 1, 4.0: 1}
    assert "<script" not in page and "alert(1)" not in page and "no-such-property" not in page
    assert "something broke" not in page and ">ok0<" not in page  # no student ids needed


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_a_class_with_no_contract_failures_says_so():
    page = cr.report_html("ps01_convolution", cr.records_from_rows([_row("x")]), ps01.CONTRACTS)
    assert "No failed test named a property" in page
    assert "1 submission graded" in page


def test_the_nbgrader_path_is_read_from_the_autograded_notebooks(tmp_path):
    def notebook(error=None):
        cell = {"cell_type": "code", "source": "", "outputs": [],
                "metadata": {"nbgrader": {"grade": True, "solution": False, "points": 3,
                                          "grade_id": "test_conv2d_forward"}}}
        if error:
            cell["outputs"] = [{"output_type": "error", "ename": "CheckError", "evalue": error,
                                "traceback": []}]
        answer = {"cell_type": "code", "source": "", "outputs": [],
                  "metadata": {"nbgrader": {"grade": False, "solution": True,
                                            "grade_id": "conv2d_forward"}}}
        return {"cells": [answer, cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}

    tag = "[contract conv2d_forward: x-unmodified]"
    for student, err in (("s1", None), ("s2", f"modifies its argument `x` {tag}")):
        folder = tmp_path / "autograded" / student / "ps01_convolution"
        folder.mkdir(parents=True)
        (folder / "ps01_convolution.ipynb").write_text(json.dumps(notebook(err)))
    (tmp_path / "autograded" / "s3" / "ps01_convolution").mkdir(parents=True)
    (tmp_path / "autograded" / "s3" / "ps01_convolution" / "ps01_convolution.ipynb").write_text("{")
    records = {r.student: r for r in cr.records_from_autograded(tmp_path, "ps01_convolution")}
    assert records["s1"].score == 3 and records["s2"].score == 0
    assert records["s2"].outcomes[0].status == "failed"
    assert records["s3"].outcomes == ()  # an unreadable notebook: no outcomes, no crash
    path = cr.write_report(tmp_path / "reports" / "class-report.html", "ps01_convolution",
                           list(records.values()), ps01.CONTRACTS)
    assert "modifies its argument `x`" in path.read_text()


@pytest.mark.slow  # grades a batch in the sandbox
def test_a_batch_writes_the_class_report_beside_the_grades(tmp_path):
    from adversarial import tinycourse as tc
    from autograder.grader import grade_assignment

    paths = tc.fresh(tmp_path)
    course = paths["course"]
    tc.submit(course, "ada", tc.submission(course))
    tc.submit(course, "bob", tc.submission(course, {"scale": "def scale(x, a):\n    return x\n"}))
    report = grade_assignment(tc.options(paths, tmp_path, workers=1))
    page = (report.reports / "class-report.html").read_text()
    assert "2 submissions graded" in page
    assert re.search(r"test_scale</code></td><td class=n>\d+</td><td class=n>1/2 \(50%\)", page)
