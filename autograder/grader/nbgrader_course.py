"""The instructor's side: an nbgrader course folder, its gradebook and the manifests.

Tests, points and cell ids come from the gradebook (what ``nbgrader
generate_assignment`` recorded, hidden tests included) and the source notebook; never
from a submission. The manifest (``autograder/assignments/psNN.py``, or any module
with ``ASSIGNMENT``/``TESTS``/``FORBIDDEN``/``TIMEOUT_S``) adds the student names each
test uses, the forbidden reference functions and per-test time limits.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import os
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

from . import intake
from . import notebook as nbmod
from .jobs import (AssignmentSpec, CellSpec, NotebookInput, NotebookSpec, SubmissionJob,
                   TestSpec)
from .settings import GraderSettings
from .untrusted import shown_name, student_id_problem

DEFAULT_TEST_TIMEOUT_S = 30.0
MAX_EXTRA_FILE_BYTES = intake.MAX_FILES_BYTES


class CourseError(Exception):
    """The course, assignment or manifest is not usable; the message says what to do."""


# ---------------------------------------------------------------------------
# the course folder
# ---------------------------------------------------------------------------

@dataclass
class Course:
    root: Path
    config: object          #: traitlets Config read from nbgrader_config.py
    coursedir: object       #: nbgrader CourseDirectory

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    @property
    def course_id(self) -> str:
        return self.coursedir.course_id

    @property
    def db_path(self) -> Path | None:
        url = self.db_url
        return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None

    def path(self, kind: str, student: str, assignment: str) -> Path:
        """``submitted``/``autograded``/``source`` folder of a student's assignment."""
        directory = {"submitted": self.coursedir.submitted_directory,
                     "autograded": self.coursedir.autograded_directory,
                     "source": self.coursedir.source_directory,
                     "feedback": self.coursedir.feedback_directory}[kind]
        return Path(self.coursedir.format_path(directory, student, assignment))

    @property
    def ignore(self) -> list:
        return list(self.coursedir.ignore)

    def cell_timeout(self, default: float) -> float:
        try:
            value = self.config.Execute.timeout
            return float(value) if isinstance(value, (int, float)) and value > 0 else default
        except AttributeError:
            return default


def load_course(root) -> Course:
    """Read ``nbgrader_config.py`` of the course at ``root`` (as nbgrader would)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(root).resolve()
    if not root.is_dir():
        raise CourseError(f"course folder {root} does not exist")
    config = Config()
    cfg_file = root / "nbgrader_config.py"
    if cfg_file.exists():
        config.merge(PyFileConfigLoader(cfg_file.name, str(root)).load_config())
    config.CourseDirectory.root = str(root)
    coursedir = CourseDirectory(config=config)
    return Course(root, config, coursedir)


# ---------------------------------------------------------------------------
# manifests
# ---------------------------------------------------------------------------

@dataclass
class Manifest:
    tests: dict
    forbidden: tuple
    timeouts: dict
    default_timeout: float
    source: str | None      #: the module's file (hidden from the sandbox)
    forbidden_ops: tuple = ()   #: FORBIDDEN_OPS: torch operators ("aten::convolution")


def load_manifest(assignment: str, package: str | None = "autograder.assignments",
                  module: str | None = None) -> Manifest:
    """The manifest of ``assignment``: ``module`` when given, else the module of
    ``package`` whose ``ASSIGNMENT`` equals it. No manifest is an error only when
    one was named; otherwise tests get their names from their own source."""
    mod = None
    default = DEFAULT_TEST_TIMEOUT_S
    if module:
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            raise CourseError(f"cannot import the manifest {module!r}: {exc}") from None
    elif package:
        try:
            pkg = importlib.import_module(package)
        except ImportError:
            pkg = None
        if pkg is not None:
            default = float(getattr(pkg, "DEFAULT_TIMEOUT_S", default))
            loader = getattr(pkg, "load", None)
            if callable(loader):
                try:
                    mod = loader(assignment)
                except (KeyError, ImportError):
                    mod = None
            if mod is None or getattr(mod, "ASSIGNMENT", None) != assignment:
                mod = None
                for info in pkgutil.iter_modules(getattr(pkg, "__path__", [])):
                    cand = importlib.import_module(f"{package}.{info.name}")
                    if getattr(cand, "ASSIGNMENT", None) == assignment:
                        mod = cand
                        break
    if mod is None:
        return Manifest({}, (), {}, default, None)
    if getattr(mod, "ASSIGNMENT", assignment) != assignment:
        raise CourseError(f"manifest {mod.__name__} is for {mod.ASSIGNMENT!r}, not {assignment!r}")
    forbidden = getattr(mod, "FORBIDDEN", ())
    if isinstance(forbidden, dict):  # per test: the grader forbids the union everywhere
        forbidden = [n for names in forbidden.values() for n in names]
    return Manifest(dict(getattr(mod, "TESTS", {})), tuple(dict.fromkeys(forbidden)),
                    dict(getattr(mod, "TIMEOUT_S", {})),
                    float(getattr(mod, "DEFAULT_TIMEOUT_S", default)),
                    getattr(mod, "__file__", None),
                    _names(getattr(mod, "FORBIDDEN_OPS", ())))


def _names(value) -> tuple:
    """A manifest list (or per-test dict of lists) as one tuple, in order, without repeats."""
    if isinstance(value, dict):
        value = [n for names in value.values() for n in names]
    return tuple(dict.fromkeys(str(n) for n in value))


# ---------------------------------------------------------------------------
# the assignment spec
# ---------------------------------------------------------------------------

def _role(nbg: dict, cell_type: str) -> str:
    if nbg.get("task"):
        return "task"
    if nbg.get("grade") and nbg.get("solution"):
        return "manual"
    if nbg.get("grade") and cell_type == "code":
        return "test"
    if nbg.get("solution"):
        return "solution"
    if nbg.get("grade"):
        return "manual"
    return "locked" if nbg.get("locked") else "other"


def _sandbox_seed(assignment: str, key: str) -> int:
    try:
        from autograder import seeds
        return seeds.seed(f"sandbox/{assignment}/{key}")
    except (ImportError, AttributeError, TypeError):
        digest = hashlib.sha256(f"cnnbook/sandbox/{assignment}/{key}".encode()).digest()
        return int.from_bytes(digest[:8], "little") >> 1


def _gradebook_cells(course: Course, assignment: str):
    """``{notebook: {grade_id: (source, checksum, max_score, locked, cell_type)}}`` from
    the gradebook, or None when the assignment is not in it."""
    from nbgrader.api import Gradebook, MissingEntry

    if course.db_path is not None and not course.db_path.exists():
        return None
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            return None
        out = {}
        for nb in a.notebooks:
            scores = {c.name: c.max_score for c in nb.grade_cells}
            scores.update({c.name: c.max_score for c in nb.task_cells})
            out[nb.name] = {c.name: (c.source, c.checksum, scores.get(c.name), c.locked,
                                     c.cell_type) for c in nb.source_cells}
        return out


def build_spec(course: Course, assignment: str, manifest: Manifest, *, python_path=(),
               extra_secrets=(), cell_timeout_s: float | None = None,
               test_timeout_s: float | None = None, require_gradebook: bool = True,
               extra_warm=()) -> AssignmentSpec:
    """Everything a worker needs to know about the assignment (the hidden tests'
    source included: the spec only travels between grader processes)."""
    import nbformat

    src_dir = course.path("source", ".", assignment)
    notebooks = sorted(src_dir.glob("*.ipynb"))
    if not notebooks:
        raise CourseError(f"no source notebook in {src_dir}: {_known(course, assignment)}")
    db = _gradebook_cells(course, assignment)
    if db is None and require_gradebook:
        raise CourseError(
            f"assignment {assignment!r} has not been released: it is not in the gradebook "
            f"{course.db_url}. Release it first: `make release` (or `python "
            f"exercises/course.py release {assignment}`) for this project's course, "
            f"`nbgrader generate_assignment {assignment}` in {course.root} for another "
            "course; or pass --no-gradebook to grade without recording")
    warm = ["numpy"]
    if importlib.util.find_spec("IPython") is not None:
        warm.append("IPython.core.inputtransformer2")
    nb_specs = []
    for path in notebooks:
        name = path.stem
        nb = nbformat.read(str(path), as_version=4)
        recorded = (db or {}).get(name)
        if db is not None and recorded is None:
            continue  # nbgrader ignores notebooks that are not in the gradebook too
        cells, tests, prelude = [], [], []
        for order, cell in enumerate(nb.cells):
            nbg = dict(cell.metadata.get("nbgrader", {}))
            source = cell.source
            role = _role(nbg, cell.cell_type) if nbg else "other"
            stmts, modules = nbmod.imports_of(source) if cell.cell_type == "code" else ([], [])
            if role != "test":
                warm += [m for m in modules if not m.split(".")[0] == "autograder"]
            if role in ("other", "locked") and cell.cell_type == "code":
                prelude += stmts
            gid = nbg.get("grade_id")
            if not gid:
                continue
            if recorded is not None and gid in recorded:
                rsource, checksum, max_score, locked, rtype = recorded[gid]
                if role == "test":
                    source = rsource  # what nbgrader autograde would run
                nbg["checksum"] = checksum
                if max_score is not None:
                    nbg["points"] = max_score
                nbg["locked"] = bool(locked)
            released = recorded[gid][0] if recorded is not None and gid in recorded else source
            if role in ("solution", "manual"):
                released = ""  # the submission's version is what counts
            if role == "test":
                visible, hidden_line = nbmod.split_hidden(source)
                released = visible
                points = float(nbg.get("points", 0) or 0)
                names = set(manifest.tests.get(gid, ()))
                free = set(nbmod.free_names(source))
                trusted = nbmod.bound_by(prelude)
                student = names | (free - trusted)
                timeout = float(manifest.timeouts.get(
                    gid, test_timeout_s or manifest.default_timeout))
                tests.append(TestSpec(gid, order, points, source, visible, hidden_line,
                                      tuple(sorted(student)),
                                      tuple(sorted((free & trusted) - names)),
                                      timeout, _sandbox_seed(assignment, f"{name}/{gid}"),
                                      tuple(sorted(names))))
            cells.append(CellSpec(gid, order, cell.cell_type, role, released,
                                  bool(nbg.get("locked")), nbg))
        nb_specs.append(NotebookSpec(name, tuple(cells), tuple(tests), "\n".join(prelude),
                                     dict(nb.metadata)))
    warm += [f.rsplit(".", 1)[0] for f in manifest.forbidden]
    warm += list(extra_warm)
    secrets, strict = _secrets(course, manifest, python_path, extra_secrets)
    warm = [m for m in dict.fromkeys(warm) if _importable_outside(m, strict)]
    return AssignmentSpec(
        assignment, tuple(nb_specs), manifest.forbidden, tuple(warm),
        tuple(str(Path(p).resolve()) for p in python_path), tuple(secrets),
        course.cell_timeout(120.0) if cell_timeout_s is None else float(cell_timeout_s),
        _sandbox_seed(assignment, "notebook"), manifest.forbidden_ops)


def assignments(course: Course) -> list:
    """The assignments of the course: folders of ``source/`` holding a notebook."""
    src = course.path("source", ".", "x").parent
    if not src.is_dir():
        return []
    return sorted(p.name for p in src.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb")))


def check_assignment(course: Course, assignment: str) -> None:
    """:class:`CourseError` listing the course's assignments when ``assignment`` is not
    one of them."""
    if assignment not in assignments(course):
        raise CourseError(f"no assignment {assignment!r} in {course.root}: "
                          f"{_known(course, assignment)}")


def _known(course: Course, assignment: str) -> str:
    names = assignments(course)
    if not names:
        return f"the course {course.root} has no assignment with a source notebook"
    close = difflib.get_close_matches(assignment, names, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}the assignments are: {', '.join(names)}"


def _importable_outside(module: str, secrets) -> bool:
    """Whether ``module`` can be warmed in the sandbox: importable, and not from a secret
    folder (the checks never are)."""
    try:
        spec = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    where = spec.origin or (list(spec.submodule_search_locations or [""])[0])
    if not where or where in ("built-in", "frozen"):
        return True
    where = os.path.realpath(where)
    return not any(where == s or where.startswith(s.rstrip("/") + "/") for s in secrets)


def _secrets(course: Course, manifest: Manifest, python_path, extra):
    """``(hidden, strict)``: host paths the sandbox must not see, and those of them
    no module it imports may come from (the folder holding ``autograder/`` is hidden
    but the packages installed inside it, e.g. ``src/`` or ``.venv``, are bound back)."""
    out = {str(course.root)}
    container = set()
    if course.db_path is not None:
        out.add(str(course.db_path.resolve()))
    import autograder

    for pkg_dir in getattr(autograder, "__path__", []):
        pkg_dir = Path(pkg_dir).resolve()
        out.add(str(pkg_dir))
        if "site-packages" not in pkg_dir.parts and "dist-packages" not in pkg_dir.parts:
            container.add(str(pkg_dir.parent))  # the repository: .git, tests, exercises...
    if manifest.source:
        out.add(str(Path(manifest.source).resolve().parent))
    out |= {str(Path(p).resolve()) for p in python_path}
    out |= {str(Path(p).resolve()) for p in extra}
    return sorted(out | container), sorted(out)


# ---------------------------------------------------------------------------
# submissions and jobs
# ---------------------------------------------------------------------------

@dataclass
class Found:
    """The submissions of an assignment, and the folders that were not taken as one."""

    submissions: list = field(default_factory=list)  #: [(student, folder)], sorted
    refused: list = field(default_factory=list)      #: [(name as shown, why)]
    missing: list = field(default_factory=list)      #: asked-for students without a folder

    def __iter__(self):
        return iter(self.submissions)

    def __len__(self):
        return len(self.submissions)


def submitted_base(course: Course, assignment: str) -> Path:
    """The folder holding one folder per student (``submitted/``)."""
    return Path(course.coursedir.format_path(course.coursedir.submitted_directory, "*",
                                             assignment)).parent.parent


def find_submissions(course: Course, assignment: str, students=None) -> Found:
    """The folders ``submitted/<student>/<assignment>``, sorted. A student folder or an
    assignment folder that is a link (or not a folder), and a student id outside the
    safe set (:data:`~autograder.grader.untrusted.STUDENT_ID`), are refused and
    reported, never followed or graded under another name."""
    import stat

    found, taken = Found(), set()
    base = submitted_base(course, assignment)
    wanted = set(students) if students is not None else None

    def refuse(name, why):
        found.refused.append((shown_name(name) if student_id_problem(name) else name, why))
        taken.add(name)

    for name in sorted(os.listdir(base)) if base.is_dir() else []:
        if wanted is not None and name not in wanted:
            continue
        try:
            st = os.stat(base / name, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            refuse(name, "the student folder is a symbolic link; links are not followed")
            continue
        if not stat.S_ISDIR(st.st_mode):
            continue
        try:
            sub = os.stat(base / name / assignment, follow_symlinks=False)
        except OSError:
            continue  # no submission of this assignment
        problem = student_id_problem(name)
        if problem is not None:
            refuse(name, f"{problem}; not graded")
        elif not stat.S_ISDIR(sub.st_mode):
            refuse(name, f"the assignment folder is {intake.kind_of(sub.st_mode)}"
                   + ("; links are not followed" if stat.S_ISLNK(sub.st_mode) else ""))
        else:
            found.submissions.append((name, base / name / assignment))
            taken.add(name)
    found.missing = sorted(wanted - taken) if wanted is not None else []
    return found


def _extra_files(folder: Path, ignore) -> list:
    """The files of the assignment's source folder other than notebooks (the
    instructor's, read under the same rules as a submission)."""
    if not folder.is_dir():
        return []
    got = intake.read_folder(folder, [], ignore=ignore, notebook_limit=0)
    return [(rel, data) for rel, data in got.files if rel != intake.TIMESTAMP]


def read_submission(course: Course, spec: AssignmentSpec, folder: Path,
                    settings: GraderSettings, want_files: bool = True) -> intake.Submission:
    """One submission's notebooks, files and timestamp, read as data
    (:mod:`~autograder.grader.intake`). Raises :class:`~.intake.Refused` when the
    folder itself cannot be opened safely."""
    folder = Path(folder)
    return intake.read_folder(folder.parent.parent, [folder.parent.name, folder.name],
                              [nb.name for nb in spec.notebooks], ignore=course.ignore,
                              notebook_limit=settings.max_file_mb << 20,
                              want_files=want_files)


def job_from(spec: AssignmentSpec, student: str, got: intake.Submission, source_files,
             settings: GraderSettings) -> SubmissionJob:
    """The job of one submission that was read: its notebooks, and its files with the
    assignment's own files over them (as nbgrader copies them)."""
    inputs = []
    for nb in spec.notebooks:
        if nb.name in got.notebooks:
            inputs.append(NotebookInput(nb.name, got.notebooks[nb.name]))
        else:
            inputs.append(NotebookInput(nb.name, None, got.problems.get(nb.name)))
    files = dict(got.files)
    files.update(source_files)
    return SubmissionJob(student, spec.name, tuple(inputs), tuple(sorted(files.items())), spec,
                         settings)


def make_job(course: Course, spec: AssignmentSpec, student: str, folder: Path,
             settings: GraderSettings) -> SubmissionJob:
    """Read one submission (never more than ``settings.max_file_mb`` per notebook)."""
    got = read_submission(course, spec, folder, settings)
    return job_from(spec, student, got,
                    _extra_files(course.path("source", ".", spec.name), course.ignore), settings)
