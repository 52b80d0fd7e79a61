"""The grader on the course's real assignment ps01 (exercises/, autograder/checks): the
instructor's solution gets every point, the blank release gets none, and a submission
that calls the reference implementations or kills its process loses exactly those
tests. This is where the real hidden checks meet the proxies. Every other assignment
is checked for a manifest that matches its notebook (grading them all takes minutes:
`python -m autograder --course exercises --assignment NAME` does it by hand)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from adversarial.tinycourse import generate
from autograder.grader import BatchOptions, GraderSettings, SandboxSettings, grade_assignment

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "exercises" / "source"
ASSIGNMENTS = sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").exists()) \
    if SOURCE.is_dir() else []
GRADED = "ps01_convolution"


def _solution_cells(nb, answers):
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell["source"] = answers[gid]
    return nb


PS01_ATTACK = {
    "conv_output_size": "import cnnbook.shapes\n\ndef conv_output_size(size, kernel, stride=1, "
                        "padding=0):\n    return cnnbook.shapes.conv_output_size(size, kernel, "
                        "stride, padding)\n",
    "conv2d_forward_loops": "import os\n\ndef conv2d_forward_loops(x, w, b, stride=1, padding=0):"
                            "\n    os._exit(0)\n",
    "conv2d_forward": "import torch\n\ndef conv2d_forward(x, w, b, stride=1, padding=0):\n"
                      "    out = torch.nn.functional.conv2d("
                      "torch.from_numpy(x), torch.from_numpy(w),"
                      " torch.from_numpy(b), stride=stride, padding=padding)\n"
                      "    return out.numpy(), None\n",
}


#: The course's salt in these tests: an instructor's own, fixed so the scores below do not
#: depend on a random draw (ps01's conv_output_size check cannot build some of its cases
#: under about half of all salts; the checks must hold under any salt).
FIXED_SALT = "cnnbook-test-suite/fixed-salt/2"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("exercises")
    shutil.copy(REPO / "exercises" / "nbgrader_config.py", root)
    shutil.copytree(SOURCE, root / "source")
    (root / "hidden_inputs.salt").write_text(FIXED_SALT + "\n")
    generate(root, GRADED)
    return root


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_manifest_matches_the_notebook(name):
    from autograder.grader import nbgrader_course as coursemod

    c = coursemod.load_course(REPO / "exercises")
    manifest = coursemod.load_manifest(name)
    spec = coursemod.build_spec(c, name, manifest, require_gradebook=False)
    tests = {t.grade_id: t for nb in spec.notebooks for t in nb.tests}
    assert set(manifest.tests) == set(tests), "manifest TESTS and the notebook's test cells differ"
    for gid, t in tests.items():
        assert t.hidden_line, f"{gid} has no hidden tests"
        assert set(manifest.tests[gid]) <= set(t.student_names)
    assert set(manifest.timeouts) <= set(tests)


@pytest.mark.slow
def test_real_assignment(course, tmp_path):
    name = GRADED
    src = json.loads((course / "source" / name / f"{name}.ipynb").read_text())
    rel = json.loads((course / "release" / name / f"{name}.ipynb").read_text())
    subs = {"solution": src, "blank": rel}
    if name == "ps01_convolution":
        subs["attacker"] = _solution_cells(json.loads(json.dumps(src)), PS01_ATTACK)
    for student, nb in subs.items():
        folder = course / "submitted" / student / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.ipynb").write_text(json.dumps(nb))
    settings = GraderSettings(sandbox=SandboxSettings(memory_mb=3072))
    report = grade_assignment(BatchOptions(course=course, assignment=name, workers=2,
                                           settings=settings, progress=False,
                                           reports=tmp_path / "reports"))
    by = {r.student: r for r in report.results}
    print("\n" + report.summary())
    sol = by["solution"]
    assert sol.error is None and sol.max_score > 0
    assert sol.score == sol.max_score, [(t.grade_id, t.status, t.message) for t in sol.tests
                                        if not t.passed]
    assert by["blank"].score == 0
    if "attacker" in by:
        tests = {t.grade_id: t for t in by["attacker"].tests}
        assert tests["test_conv_output_size"].status == "forbidden"
        # test_conv2d_forward also compares the loops, which end the process first
        assert tests["test_conv2d_forward"].status == "crashed"
        # the visible timing runs under the guard too (flagged, not scored): torch's
        # convolution, every operator watched, is too slow for it before the hidden check
        assert tests["test_conv2d_forward_speed"].status in ("forbidden", "failed")
        assert any("torch" in n and "which grading forbids" in n
                   for n in by["attacker"].notes), by["attacker"].notes
        assert tests["test_conv2d_forward_loops"].status == "crashed"
        assert tests["test_conv_params"].passed
