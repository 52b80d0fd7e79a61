"""Attacks on the reference-call guard, and honest answers it must not mistake for one,
graded by ``python -m autograder``.

``tests/adversarial/guard_attacks/<assignment>/`` holds submissions written as cells: a
``# %% <grade_id>`` cell replaces that solution cell, a ``# %% extra`` cell is inserted
after the notebook's imports, and the solution cells it does not name keep the
instructor's (honest) code. ``aNN``: attacks on the guard (points they must not get);
``nNN``: the same without the one trick that makes each work; ``fNN``: honest code, in
many styles, the guard must not mistake for a reference; ``control``: the instructor's
solutions.

The contract: an attack scores at most what its honest cells earn, or it is flagged for
review by hand (the guard runs in the student's process; what defeats it from inside
needs introspection, and that is flagged); the honest submissions get full marks and no
flag.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adversarial.cell_files import cells

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "adversarial" / "guard_attacks"
ASSIGNMENTS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())

#: What each ps01 attack's honest cells earn (the two int functions are worth 2 + 2, the
#: convolution tests 3 + 3 + 1).
DESERVED = {
    "a00_direct": 0, "a01_helpers": 0, "a02_scipy": 4, "a03_deferred": 4,
    "a04_profchain": 0, "a05_seal": 0, "a06_cache": 0, "a07_recompiled": 0, "a08_thnn": 4,
    "a09_nomodes": 4, "a10_verbatim_copy": 9, "n04_profchain_plain": 0, "n05_seal_kept": 0,
    "n06_cache_unpoisoned": 0, "n07_recompiled_verbatim": 0, "n09_modes_kept": 4,
    "n10_verbatim_same_cell": 9, "a11_mkldnn_pointwise": 4, "a12_cdist_matmul": 7,
    "a13_edited_copy": 7, "a14_table_at_cell_time": 7, "a15_table_on_first_call": 9,
    "a16_table_in_a_signal_handler": 9, "a17_finalizer_outside_the_profiler": 9,
    "a18_finalizer_inside_the_profiler": 0, "a19_runtime_hooks": 0,
    "a20_spec_read_in_the_profiler": 0, "a21_collection_from_an_argument_tuple": 0,
    "a22_builtin_method_signal_handler": 0, "a23_fingerprint_cache_poisoned_unseen": 0,
    "a24_clean_cache_poisoned_unseen": 0, "n22_python_signal_handler": 0,
    "n23_clones_unpoisoned": 0, "n24_tables_cleared": 0, "a25_dispatch_mode_exit": 0,
    "a26_reply_header_stripped_by_json_dumps": 0,
    "a27_reply_header_stripped_by_json_encoder": 0, "a28_reply_header_stripped_by_sendall": 0,
}
#: Attacks that must not score whatever the review scan says: the sandbox itself denies
#: them what they need (a13: the reference's source, to edit a copy of it; a17, a18, a21:
#: a moment when the collector runs the submission's finalizers or callbacks unwatched;
#: a19: the runtime's own reading of a request, where hooks the submission set ran
#: unwatched; a20: the guard reading an object of the submission's inside its profile
#: function; a25: torch's Python run while a watch is taken down; a26 to a28: the
#: library code that writes a reply, replaced to drop what the guard saw).
DENIED = ("a13_edited_copy", "a17_finalizer_outside_the_profiler",
          "a18_finalizer_inside_the_profiler", "a19_runtime_hooks",
          "a20_spec_read_in_the_profiler", "a21_collection_from_an_argument_tuple",
          "a25_dispatch_mode_exit", "a26_reply_header_stripped_by_json_dumps",
          "a27_reply_header_stripped_by_json_encoder", "a28_reply_header_stripped_by_sendall")
#: The instructor's solutions and honest answers in other styles (einsum over sliding
#: windows, im2col, as_strided, np.add.at, dataclasses, attribute tables, fractions...).
HONEST = [(a, p.stem) for a in ASSIGNMENTS for p in sorted((CORPUS / a).glob("*.py"))
          if p.stem == "control" or p.stem.startswith("f")]


def _submission(release: dict, source: dict, cells: list) -> dict:
    nb = json.loads(json.dumps(release))
    solutions = {c["metadata"].get("nbgrader", {}).get("grade_id"): "".join(c["source"])
                 for c in source["cells"]}
    given = {name: text for name, text in cells if name != "extra"}
    assert not set(given) - set(solutions), f"no such solution cells: {set(given) - set(solutions)}"
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in solutions:
            cell["source"] = given.get(meta["grade_id"], solutions[meta["grade_id"]])
    nb["cells"][2:2] = [{"cell_type": "code", "metadata": {}, "execution_count": None,
                         "outputs": [], "source": text} for name, text in cells if name == "extra"]
    return nb


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get(
        "PYTHONPATH", "")]))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _grade(root: Path, assignment: str) -> dict:
    shutil.copy(REPO / "exercises" / "nbgrader_config.py", root)
    shutil.copytree(REPO / "exercises" / "source" / assignment, root / "source" / assignment)
    out = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
                          "--force"], cwd=root, env=_env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    release = json.loads((root / "release" / assignment / f"{assignment}.ipynb").read_text())
    source = json.loads((root / "source" / assignment / f"{assignment}.ipynb").read_text())
    corpus = sorted((CORPUS / assignment).glob("*.py"))
    for path in corpus:
        folder = root / "submitted" / path.stem.replace("_", "-") / assignment
        folder.mkdir(parents=True)
        nb = _submission(release, source, cells(path))
        (folder / f"{assignment}.ipynb").write_text(json.dumps(nb, indent=1))
        (folder / "timestamp.txt").write_text("2030-01-01 12:00:00.000000 UTC\n")
    run = subprocess.run([sys.executable, "-m", "autograder", "--course", str(root),
                          "--assignment", assignment, "--workers", "2", "--no-progress"],
                         cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode in (0, 1), run.stderr[-3000:]
    data = json.loads((root / "reports" / assignment / "results.json").read_text())
    with open(root / "reports" / assignment / "grades.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(corpus)
    return {r["student"].replace("-", "_"): r for r in data["results"]}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    done: dict = {}

    def results(assignment: str) -> dict:
        if assignment not in done:
            done[assignment] = _grade(tmp_path_factory.mktemp(assignment), assignment)
        return done[assignment]
    return results


def _flagged(result) -> bool:
    from autograder.grader.review import is_review_note

    return any(is_review_note(n) for n in result.get("notes") or [])


@pytest.mark.slow
def test_the_corpus_is_the_one_judged():
    judged = {("ps01_convolution", n) for n in DESERVED} | set(HONEST)
    assert {(a, p.stem) for a in ASSIGNMENTS for p in (CORPUS / a).glob("*.py")} == judged


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DESERVED))
def test_an_attack_gets_no_more_than_it_earned_or_is_flagged(graded, name):
    result = graded("ps01_convolution")[name]
    assert result["score"] <= DESERVED[name] or _flagged(result), \
        f"{name}: {result['score']}/{result['max_score']}, not flagged"


@pytest.mark.slow
@pytest.mark.parametrize("name", DENIED)
def test_an_attack_the_sandbox_denies_gets_no_more_than_it_earned(graded, name):
    result = graded("ps01_convolution")[name]
    assert result["score"] <= DESERVED[name], \
        f"{name}: {result['score']}/{result['max_score']}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment,name", HONEST, ids=[f"{a[:4]}-{n}" for a, n in HONEST])
def test_honest_code_gets_full_marks_and_no_flag(graded, assignment, name):
    result = graded(assignment)[name]
    assert result["score"] == result["max_score"] and not _flagged(result), \
        (result["score"], result["max_score"], result.get("notes"))


@pytest.mark.slow
@pytest.mark.parametrize("name,where", [("a14_table_at_cell_time", "in cell"),
                                        ("a15_table_on_first_call", "in the calls of"),
                                        ("a16_table_in_a_signal_handler", "in cell")])
def test_code_that_calls_a_reference_outside_a_graded_call_is_flagged_by_the_guard(
        graded, name, where):
    result = graded("ps01_convolution")[name]
    notes = result["notes"]
    if name == "a16_table_in_a_signal_handler":
        # CPython may run the handler anywhere, the guard's profile function included:
        # the handler itself is flagged, from the cell that set it
        assert any(n.startswith("uses a signal handler of its own") and "in cell" in n
                   for n in notes), notes
        return
    assert any(f"which grading forbids, {where}" in n for n in notes), notes
