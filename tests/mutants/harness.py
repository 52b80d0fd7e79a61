"""Run an exercise notebook's code in-process, as nbgrader's kernel would, but fast.

The source notebook (``exercises/source/<a>/<a>.ipynb``) is read cell by cell; its
non-test code cells run in order in one namespace (optionally with a cell patched,
replaced or skipped), then the visible or hidden part of a test cell runs in a copy
of that namespace. Used by the mutation corpus and the alternatives tests.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the hidden checks live in REPO/autograder
    sys.path.insert(0, str(REPO))

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


@dataclass
class Cell:
    kind: str
    role: str  # "", "solution", "test", "locked", "answer"
    id: str
    source: str
    points: float = 0.0


def notebook_path(assignment: str) -> Path:
    return REPO / "exercises" / "source" / assignment / f"{assignment}.ipynb"


def load_cells(assignment: str) -> list[Cell]:
    nb = json.loads(notebook_path(assignment).read_text())
    out = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and meta.get("solution"):
            role = "answer"
        elif meta.get("grade"):
            role = "test"
        elif meta.get("solution"):
            role = "solution"
        elif meta.get("locked"):
            role = "locked"
        else:
            role = ""
        out.append(Cell(cell["cell_type"], role, meta.get("grade_id", cell.get("id", "")),
                        "".join(cell["source"]), float(meta.get("points", 0))))
    return out


def split_test(source: str) -> tuple[str, str]:
    """(visible part, hidden part) of a test cell."""
    if HIDDEN_BEGIN not in source:
        return source, ""
    before, rest = source.split(HIDDEN_BEGIN, 1)
    hidden, _, after = rest.partition(HIDDEN_END)
    return before + after, hidden


def apply_patches(source: str, patches, where: str) -> str:
    """Each (old, new) must match exactly once: a stale mutant fails loudly."""
    for old, new in patches:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"{where}: {old!r} occurs {count} times, expected once")
        source = source.replace(old, new)
    return source


@contextlib.contextmanager
def silenced():
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


@contextlib.contextmanager
def torch_state_kept(source: str):
    """Notebooks may seed torch's global generator or set its thread count; undo both
    so that the rest of the test session sees no difference."""
    if "torch" in source:
        import torch  # imported first, so that its state can be saved
    torch = sys.modules.get("torch")
    saved = (torch.random.get_rng_state(), torch.get_num_threads()) if torch else None
    try:
        yield
    finally:
        if saved is not None:
            torch.random.set_rng_state(saved[0])
            torch.set_num_threads(saved[1])


@dataclass
class Namespace:
    assignment: str
    values: dict
    errors: dict = field(default_factory=dict)  # cell id -> exception text


def build_namespace(assignment: str, patches=None, replace=None, append=None,
                    skip=()) -> Namespace:
    """Run the non-test code cells. ``patches``: cell id -> [(old, new)];
    ``replace``: cell id -> new source; ``append``: cell id -> code run after that
    cell; ``skip``: cell ids not to run. A failing cell is recorded, not raised,
    as in a notebook run with errors allowed."""
    patches, replace, append = patches or {}, replace or {}, append or {}
    ns = {"__name__": "__main__"}
    errors = {}
    known = {c.id for c in load_cells(assignment)}
    for key in (*patches, *replace, *append):
        if key not in known:
            raise KeyError(f"{assignment} has no cell {key!r}")
    cells = [c for c in load_cells(assignment)
             if c.kind == "code" and c.role != "test" and c.id not in skip]
    # like one kernel: a cell's torch settings (seed, threads) hold for the next cells,
    # and are undone when the notebook is done
    with torch_state_kept("\n".join(c.source for c in cells)):
        for cell in cells:
            source = replace.get(cell.id, cell.source)
            if cell.id in patches:
                source = apply_patches(source, patches[cell.id], f"{assignment}:{cell.id}")
            source = source + "\n" + append.get(cell.id, "")
            try:
                with silenced():
                    exec(compile(source, f"<{assignment}:{cell.id}>", "exec"), ns)
            except Exception as exc:  # noqa: BLE001
                errors[cell.id] = f"{type(exc).__name__}: {exc}"
    return Namespace(assignment, ns, errors)


@dataclass
class Outcome:
    passed: bool
    message: str
    seconds: float
    stderr: str = ""
    violations: tuple = ()  # (function, property id) of the contract properties that failed


def violations(exc: BaseException) -> tuple:
    """The (function, property) pairs a failed hidden check names: its attributes, or the
    tag at the end of its message."""
    from autograder.checks.contracts import parse_tag

    function, props = getattr(exc, "function", ""), getattr(exc, "properties", ())
    if function and props:
        return tuple((function, p) for p in props)
    return tuple(parse_tag(str(exc)))


def check_of(assignment: str, test_id: str) -> str:
    """The hidden check a test cell calls (``_hidden.<check>(...)``)."""
    cells = {c.id: c for c in load_cells(assignment) if c.role == "test"}
    found = re.findall(r"_hidden\.(\w+)\(", split_test(cells[test_id].source)[1])
    return found[0] if found else ""


def run_test(ns: Namespace, test_id: str, part: str = "hidden") -> Outcome:
    """Run the ``part`` ("visible", "hidden" or "all") of test cell ``test_id``."""
    cells = {c.id: c for c in load_cells(ns.assignment) if c.role == "test"}
    visible, hidden = split_test(cells[test_id].source)
    source = {"visible": visible, "hidden": hidden, "all": visible + "\n" + hidden}[part]
    scope = dict(ns.values)
    start = time.perf_counter()
    try:
        with silenced() as (_, err), torch_state_kept(source):
            exec(compile(source, f"<{ns.assignment}:{test_id}:{part}>", "exec"), scope)
    except Exception as exc:  # noqa: BLE001
        return Outcome(False, f"{type(exc).__name__}: {exc}", time.perf_counter() - start,
                       violations=violations(exc))
    return Outcome(True, "", time.perf_counter() - start, err.getvalue())


def test_ids(assignment: str) -> list[str]:
    return [c.id for c in load_cells(assignment) if c.role == "test"]


# ---------------------------------------------------------------------------
# the notebook a student would submit
# ---------------------------------------------------------------------------

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _answer(source: str) -> str:
    """A solution cell as a student's answer: the solution markers' lines removed."""
    lines = [line for line in source.splitlines()
             if line.strip() not in SOLUTION_MARKERS]
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def submission(assignment: str, patches=None, replace=None, append=None) -> dict:
    """The complete notebook a student would submit (nbformat JSON): the source notebook
    in its release form (hidden tests stripped from the test cells, outputs empty) with
    every solution cell answered: by the solution, or by the code that ``patches``
    (cell id -> [(old, new)]), ``replace`` (cell id -> source) and ``append`` (cell id
    -> code after it) give, as :func:`build_namespace` runs them. Grade it with
    nbgrader (``course.py autograde``) or ``python -m autograder`` to compare the paths."""
    patches, replace, append = patches or {}, replace or {}, append or {}
    nb = json.loads(notebook_path(assignment).read_text())
    known = {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in nb["cells"]}
    for key in (*patches, *replace, *append):
        if key not in known:
            raise KeyError(f"{assignment} has no cell {key!r}")
    out = copy.deepcopy(nb)
    for cell in out["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        cid = meta.get("grade_id", "")
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        if meta.get("grade") and not meta.get("solution"):  # a test cell: the release's
            source = split_test(source)[0].rstrip() + "\n"
        elif cell["cell_type"] == "code":
            source = replace.get(cid, source)
            if cid in patches:
                source = apply_patches(source, patches[cid], f"{assignment}:{cid}")
            if cid in append:
                source = source.rstrip("\n") + "\n\n" + append[cid]
            if meta.get("solution"):
                source = _answer(source)
        cell["source"] = source.splitlines(keepends=True)
    return out
