"""The exercise course: build the source notebooks, release them, grade them with nbgrader.

    python exercises/course.py build              # authoring/*.py -> source/<a>/<a>.ipynb
    python exercises/course.py check              # fail if a source notebook is stale
    python exercises/course.py release [a ...]    # nbgrader generate_assignment -> release/
    python exercises/course.py autograde [a ...]  # nbgrader autograde of submitted/*/<a>
    python exercises/course.py feedback [a ...]   # nbgrader generate_feedback -> feedback/
    python exercises/course.py export             # every grade -> grades.csv

Every command takes ``--root DIR`` to work on a copy of the course (the tests do);
``autograde`` and ``feedback`` take ``--student ID``. No assignment names means all of
them. The nbgrader commands run through nbgrader's in-process API (one start-up, not
one per command) with the environment below; nbgrader's own CLI works the same way:

    cd exercises && PATH=../.venv/bin:$PATH nbgrader autograde ps01_convolution

``autograde`` grades every submission even when some are broken: a submission it cannot
grade (no notebook, a notebook that is not JSON, a link or special file in the folder,
which nbgrader would follow, a student id outside letters, digits and ``. _ @ -``) is
listed with the reason at the end, and the command exits with status 1. The hidden
inputs come from the course's salt (``hidden_inputs.salt``, drawn at the first grading;
see ``autograder/seeds.py``), the same one ``python -m autograder`` uses.

Notebooks are written in ``authoring/<assignment>.py``, a plain-text form of the
notebook that diffs well; ``build`` turns each into the ``.ipynb`` that nbgrader
reads (no outputs, nbgrader metadata filled in). A cell starts with a line

    # %% [markdown]                          text (every line starts with "# ")
    # %% [markdown] answer id=ID points=N    manually graded written answer
    # %%                                     ordinary code
    # %% solution id=ID                      code with ### BEGIN/END SOLUTION
    # %% test id=ID points=N                 autograded test (visible + hidden part)
    # %% locked id=ID                        read-only code

nbgrader runs the notebooks with the assignment folder as working directory; the
hidden tests import ``autograder`` (kept outside the student's package), so the
grading commands put the repository root on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import resource
import sys
import time
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
AUTHORING = HERE / "authoring"
if str(REPO) not in sys.path:  # the instructor-only autograder package (not installed)
    sys.path.append(str(REPO))

ASSIGNMENTS = [
    "ps01_convolution",
    "ps02_conv_backprop",
    "ps03_pooling",
    "ps04_receptive_fields",
    "ps05_lenet",
    "ps06_alexnet_vgg",
    "ps07_googlenet",
    "ps08_batchnorm_resnet",
]

_HEADER = re.compile(r"^# %%(?P<rest>.*)$")


# ---------------------------------------------------------------------------
# authoring text -> notebook
# ---------------------------------------------------------------------------

def _parse_header(rest: str, where: str) -> dict:
    rest = rest.strip()
    kind = "code"
    if rest.startswith("[markdown]"):
        kind, rest = "markdown", rest[len("[markdown]"):].strip()
    words = rest.split()
    role = words[0] if words and "=" not in words[0] else ""
    opts = dict(w.split("=", 1) for w in words[1 if role else 0:])
    allowed = {("code", ""), ("code", "solution"), ("code", "test"), ("code", "locked"),
               ("markdown", ""), ("markdown", "answer"), ("markdown", "locked")}
    if (kind, role) not in allowed:
        raise ValueError(f"{where}: unknown cell header {rest!r}")
    if role and "id" not in opts:
        raise ValueError(f"{where}: a {role} cell needs id=...")
    if role in ("test", "answer") and "points" not in opts:
        raise ValueError(f"{where}: a {role} cell needs points=...")
    return {"kind": kind, "role": role, **opts}


def parse(text: str, name: str = "<text>") -> list[dict]:
    """Cells of an authoring file: dicts with kind, role, id, points and source."""
    cells, current, body = [], None, []

    def close():
        if current is not None:
            lines = body[:]
            if current["kind"] == "markdown":
                for line in lines:
                    if line and line != "#" and not line.startswith("# "):
                        raise ValueError(f"{name}: markdown line must start with '# ': {line!r}")
                lines = [line[2:] for line in lines]
            while lines and not lines[0].strip():
                lines.pop(0)
            while lines and not lines[-1].strip():
                lines.pop()
            cells.append({**current, "source": "\n".join(lines)})

    for number, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if m:
            close()
            current, body = _parse_header(m.group("rest"), f"{name}:{number}"), []
        elif current is not None:
            body.append(line)
    close()
    ids = [c["id"] for c in cells if "id" in c]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"{name}: duplicate cell ids {sorted(dupes)}")
    return cells


def _metadata(cell: dict) -> dict:
    role = cell["role"]
    if not role:
        return {}
    meta = {
        "grade": role in ("test", "answer"),
        "grade_id": cell["id"],
        "locked": role in ("test", "locked"),
        "schema_version": 3,
        "solution": role in ("solution", "answer"),
        "task": False,
    }
    if meta["grade"]:
        points = float(cell["points"])
        meta["points"] = int(points) if points.is_integer() else points
    return {"nbgrader": meta}


def to_notebook(cells: list[dict], name: str) -> dict:
    """An nbformat-4.5 notebook (as a dict) without outputs."""
    nb_cells = []
    for n, cell in enumerate(cells):
        digest = hashlib.sha1(f"{name}/{n}/{cell.get('id', '')}".encode()).hexdigest()[:8]
        entry = {
            "cell_type": cell["kind"],
            "id": cell.get("id", f"cell-{digest}"),
            "metadata": _metadata(cell),
            "source": cell["source"].splitlines(keepends=True),
        }
        if cell["kind"] == "code":
            entry.update(execution_count=None, outputs=[])
        nb_cells.append(entry)
    return {
        "cells": nb_cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                           "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook_text(name: str, authoring: Path = AUTHORING) -> str:
    cells = parse((authoring / f"{name}.py").read_text(), name)
    return json.dumps(to_notebook(cells, name), indent=1, ensure_ascii=False) + "\n"


def source_path(root: Path, name: str) -> Path:
    return root / "source" / name / f"{name}.ipynb"


def build(root: Path, names) -> None:
    """Write ``source/<name>/<name>.ipynb`` under ``root`` from each authoring file."""
    for name in names:
        path = source_path(root, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(notebook_text(name))
        print(f"wrote {path}")


def stale(root: Path, names) -> list[str]:
    """Assignments whose source notebook differs from its authoring file."""
    out = []
    for name in names:
        path = source_path(root, name)
        if not path.exists() or path.read_text() != notebook_text(name):
            out.append(name)
    return out


# ---------------------------------------------------------------------------
# nbgrader
# ---------------------------------------------------------------------------

def grading_env(root: Path | None = None) -> dict:
    """The environment nbgrader and its kernels run in: this interpreter's ``bin/``
    first on PATH (nbgrader calls ``alembic``), the repository root on PYTHONPATH
    (the hidden tests import ``autograder``) and, for a course at ``root``, its salt
    file in ``CNNBOOK_SALT_FILE``."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    paths = [str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    if root is not None:
        from autograder import seeds

        env[seeds.SALT_FILE_ENV] = str(seeds.course_salt_file(root))
    return env


@contextlib.contextmanager
def grading_environment(root: Path | None = None):
    """:func:`grading_env` applied to ``os.environ`` for the duration (for nbgrader's
    in-process API, whose kernels inherit this process's environment)."""
    saved = dict(os.environ)
    os.environ.update(grading_env(root))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def load_config(root: Path):
    """The course's nbgrader configuration with its root set to ``root``."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def nbgrader_api(root: Path):
    """nbgrader's in-process API on the course at ``root`` (no start-up per command)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = load_config(root)
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def _report(result: dict, what: str) -> None:
    log = (result.get("log") or "").strip()
    if log:
        print(log)
    if not result.get("success"):
        raise SystemExit(f"{what} failed:\n{result.get('error') or ''}")


def students(root: Path, folder: str, name: str, only: str | None) -> list[str]:
    """Students with a ``<folder>/<student>/<name>`` entry (or just ``only``), links
    included: :func:`vet` refuses them with a reason."""
    if only:
        return [only]
    base = root / folder
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if os.path.lexists(p / name) and (p.is_dir() or p.is_symlink()))


def release(root: Path, names) -> None:
    api = nbgrader_api(root)
    with grading_environment():
        for name in names:
            _report(api.generate_assignment(name, force=True), f"generate_assignment {name}")


class Timing(NamedTuple):
    wall: float  #: seconds on the clock
    cpu: float   #: CPU seconds of this process and the grading kernel, whatever else runs


def _cpu_seconds() -> float:
    """CPU time used so far by this process and its finished children (the kernels)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Timings(dict):
    """``{(assignment, student): Timing}`` of the graded submissions; ``failures``:
    ``[(assignment, student, why)]`` of those that could not be graded."""

    def __init__(self):
        super().__init__()
        self.failures: list = []


def ensure_salt(root: Path) -> Path:
    """The course's salt file, drawn now when the course has none (its first grading)."""
    from autograder import seeds

    path = seeds.course_salt_file(root)
    if not path.exists() and seeds.new(path, replace=False)[1]:
        print(f"drew a new salt for the hidden inputs: {path} (private; regrades reuse it)")
    seeds.load(path)
    return path


def released(root: Path, name: str) -> bool:
    """Whether ``name`` is in the course's gradebook (``generate_assignment`` ran)."""
    from nbgrader.api import Gradebook, MissingEntry

    config = load_config(root)
    db = root / "gradebook.db"
    url = config.CourseDirectory.get("db_url", f"sqlite:///{db}")
    if url == f"sqlite:///{db}" and not db.exists():
        return False
    with Gradebook(url, config.CourseDirectory.course_id) as gb:
        try:
            gb.find_assignment(name)
        except MissingEntry:
            return False
    return True


def vet(root: Path, name: str, student: str) -> str | None:
    """Why nbgrader must not grade ``submitted/<student>/<name>`` (None: it may): a
    student id outside the safe set, a link or special file anywhere in the folder
    (nbgrader would follow or open it), no notebook, a notebook that is not JSON."""
    from autograder.grader import intake
    from autograder.grader.untrusted import student_id_problem

    problem = student_id_problem(student)
    if problem is not None:
        return problem
    from nbgrader.coursedir import CourseDirectory

    nb_names = [p.stem for p in (root / "source" / name).glob("*.ipynb")]
    ignore = CourseDirectory(config=load_config(root)).ignore
    try:
        got = intake.read_folder(root / "submitted", [student, name], nb_names,
                                 ignore=ignore, notebook_limit=100 << 20)
    except intake.Refused as exc:
        return f"the submission folder {exc}"
    reasons = list(got.refused) + list(got.problems.values())
    if not got.notebooks and not got.problems:
        reasons.append(f"no notebook: expected {', '.join(f'{n}.ipynb' for n in nb_names)}")
    for nb, data in got.notebooks.items():
        try:
            json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            reasons.append(f"{nb}.ipynb is not a notebook (not JSON text)")
    return "; ".join(reasons) or None


def _explained(log: str, source: Path) -> str:
    """nbgrader's log with the expected checksum warnings of test cells (the hidden
    tests are removed at release) replaced by one line."""
    from autograder.grader.nbgrader_hooks import checksum_cell, hidden_test_ids

    hidden, out, cells = None, [], []
    for line in log.splitlines():
        if "checksum" in line:
            hidden = hidden_test_ids(source) if hidden is None else hidden
            cell = checksum_cell(line, hidden)
            if cell is not None:
                cells.append(cell)
                continue
        out.append(line)
    if cells:
        out.append(f"[INFO] test cells {', '.join(cells)}: checksums differ from the release, "
                   "as for every submission (the hidden tests are removed at release; the "
                   "cells are graded from the gradebook's copy): not tampering")
    return "\n".join(out)


def _last_error(result: dict) -> str:
    """The last line of nbgrader's error (its exception's message), not the traceback."""
    lines = [line.strip() for line in (result.get("error") or result.get("log") or "")
             .splitlines() if line.strip()]
    return lines[-1][:300] if lines else "nbgrader failed without a message"


def autograde(root: Path, names, only: str | None = None) -> Timings:
    """Autograde every submission (or one student's); returns a Timing per graded
    submission, and the ones that could not be graded in ``.failures`` (each is also
    printed with its reason; the others are graded all the same)."""
    root = Path(root)
    api = nbgrader_api(root)
    timings = Timings()
    ensure_salt(root)
    with grading_environment(root):
        for name in names:
            todo = students(root, "submitted", name, only)
            if todo and not released(root, name):
                timings.failures += [(name, s, f"{name} has not been released: run `make "
                                      f"release` (or python exercises/course.py release "
                                      f"{name}) first") for s in todo]
                continue
            for student in todo:
                why = vet(root, name, student)
                if why is None:
                    start, cpu = time.perf_counter(), _cpu_seconds()
                    result = api.autograde(name, student, force=True, create=True)
                    log = _explained((result.get("log") or "").strip(), root / "source")
                    if log:
                        print(log)
                    why = None if result.get("success") else _last_error(result)
                if why is not None:
                    timings.failures.append((name, student, why))
                    print(f"NOT GRADED {name} for {_shown(student)}: {_shown(why)}")
                    continue
                t = Timing(time.perf_counter() - start, _cpu_seconds() - cpu)
                timings[(name, student)] = t
                print(f"graded {name} for {student} in {t.wall:.1f} s ({t.cpu:.1f} s of CPU)")
            if todo:
                print(f"what the class got wrong: {class_report(root, name)}")
    if timings.failures:
        print(f"\n{len(timings.failures)} submission(s) not graded (the others were):")
        for name, student, why in timings.failures:
            print(f"  {name} {_shown(student)}: {_shown(why)}")
    return timings


def class_report(root: Path, name: str) -> Path:
    """``reports/<name>/class-report.html`` from every autograded notebook of ``name``."""
    from autograder.grader import class_report as cr

    records = cr.records_from_autograded(root, name)
    return cr.write_report(Path(root) / "reports" / name / "class-report.html", name, records)


def _shown(text) -> str:
    from autograder.grader.untrusted import terminal_text

    return terminal_text(text, limit=400)


def feedback(root: Path, names, only: str | None = None) -> None:
    api = nbgrader_api(root)
    with grading_environment():
        for name in names:
            for student in students(root, "autograded", name, only):
                _report(api.generate_feedback(name, student, force=True),
                        f"generate_feedback {name} {student}")


def export(root: Path) -> Path:
    """Every grade in the gradebook to ``<root>/grades.csv`` (nbgrader's CSV exporter)."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    config = load_config(root)
    out = root / "grades.csv"
    with Gradebook(config.CourseDirectory.get("db_url", f"sqlite:///{root / 'gradebook.db'}"),
                   config.CourseDirectory.course_id) as gb:
        CsvExportPlugin(to=str(out)).export(gb)
    print(f"wrote {out}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["build", "check", "release", "autograde",
                                            "feedback", "export"])
    parser.add_argument("assignments", nargs="*", help="default: all")
    parser.add_argument("--root", type=Path, default=HERE,
                        help="course root (default: %(default)s)")
    parser.add_argument("--student", help="autograde/feedback: only this student")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    names = args.assignments or ASSIGNMENTS
    unknown = [n for n in names if n not in ASSIGNMENTS]
    if unknown:
        import difflib

        hints = [f"{n!r} (did you mean {close[0]!r}?)" if close else repr(n)
                 for n in unknown
                 for close in [difflib.get_close_matches(n, ASSIGNMENTS, n=1, cutoff=0.5)]]
        parser.error(f"unknown assignment {', '.join(hints)}; the assignments are: "
                     f"{', '.join(ASSIGNMENTS)}")
    if args.command == "build":
        build(root, names)
    elif args.command == "check":
        bad = stale(root, names)
        if bad:
            print(f"stale source notebooks (run: python exercises/course.py build): {bad}")
            return 1
        print("source notebooks are up to date")
    elif args.command == "release":
        release(root, names)
    elif args.command == "autograde":
        if autograde(root, names, args.student).failures:
            return 1
    elif args.command == "feedback":
        feedback(root, names, args.student)
    elif args.command == "export":
        export(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
