"""``python -m autograder``: grade every submission of an assignment, safely."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .batch import BatchOptions, OptionError, check_options, default_workers, grade_assignment
from .nbgrader_course import CourseError
from .errors import SandboxUnavailable
from .settings import GraderSettings, SandboxSettings
from .untrusted import terminal_text

DESCRIPTION = """\
Grade every submission of an nbgrader assignment and record the scores in the course's
gradebook (so formgrader, manual grading, `nbgrader generate_feedback` and
`nbgrader export` keep working), plus a grades CSV and one feedback page per student.

Each submission's code runs in a sandbox (bubblewrap: no network, read-only files
except its own scratch /tmp, no course files, no new processes; limits on memory,
CPU time, file size and output). The hidden tests and reference answers never enter
it: the test cells (taken from the gradebook/source notebook, never from the
submission) run in the grader, which calls the submission's functions across the
sandbox boundary and checks the returned values itself.
"""

EPILOG = """\
test outcomes:
  passed      the test cell ran without error: its points
  failed      a check failed; the reason is shown (never the hidden test or expected values)
  error       the submission raised, or a name the test needs is not defined
  timeout     the test ran past its limit (the manifest's TIMEOUT_S, else --test-timeout)
  crashed     the submission's process died during the test (os._exit, a signal, a limit)
  forbidden   the submission called a reference function the manifest's FORBIDDEN lists
  not run     the notebook is missing, unreadable, too large, or kept crashing
  A crash or hang costs only that test: the process is restarted and the code cells run
  so far are replayed. Submission metadata (points, grade ids, edited or deleted test
  cells) is never trusted; every change is reported in the CSV and the feedback.

submissions are data:
  submitted/<student>/<assignment>/ is read without following any link: a notebook,
  file, student folder or assignment folder that is a symbolic link, a FIFO, a socket or
  a device, a hard link to a file outside the folder, a name with control characters,
  or anything over its size limit is not read; each is reported for that student and
  the rest is graded. Student ids are letters, digits and . _ @ - (not first: . - @);
  any other folder name is refused and reported, never graded under another name.

files written (each student's as soon as graded, so an interrupted batch keeps them):
  <course>/autograded/<student>/<assignment>/   graded notebooks, as nbgrader writes them
  <course>/gradebook.db                         scores (auto_score per test cell)
  <course>/hidden_inputs.salt                   the salt of the hidden inputs, drawn at the
                                                course's first grading (mode 0600, never
                                                committed; a new term: python -m
                                                autograder.seeds new --course <course>)
  <reports>/grades.csv                          one row per student, points per test; with
                                                --student, merged into the existing file
  <reports>/feedback/<student>.html             tests, points, outcome and reason
  <reports>/results.json                        everything, for scripts (merged likewise)
  (<reports> defaults to <course>/reports/<assignment>)

examples:
  python -m autograder --course exercises --assignment ps01_convolution
  python -m autograder --course exercises --assignment ps01_convolution --student alice
  python -m autograder --course exercises --assignment ps01_convolution \\
      --scheduler tcp://127.0.0.1:8786

  python -m autograder --course exercises --assignment ps01_convolution --repeat 2

exit status: 0 when every submission was graded and every result written; 1 when some
were not (grader errors, refused submissions, a gradebook or a file that could not be
written, an asked-for student without a submission: the summary lists each, and the
others are graded and recorded all the same); 2 for a usage or course error.
"""


def _amount(kind, minimum: float = 0.0, strict: bool = True):
    """An argparse type for a limit: a number above (or at) ``minimum``."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(
                f"expected a number {'>' if strict else '>='} {minimum:g}, got {text!r}")
        return value
    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m autograder", description=DESCRIPTION,
                                epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--course", type=Path, default=Path("exercises"),
                   help="nbgrader course folder, holding nbgrader_config.py (default: %(default)s)")
    p.add_argument("--assignment", required=True, help="assignment name, e.g. ps01_convolution")
    p.add_argument("--student", action="append", dest="students", metavar="ID",
                   help="grade only this student (repeatable; default: every submission); "
                        "the results are merged into the existing CSV and JSON")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="grade each submission N times and flag those whose points differ "
                        "(nondeterministic answers; the first grading is recorded)")
    p.add_argument("--salt-file", type=Path, metavar="FILE",
                   help="the salt of the hidden inputs (default: $CNNBOOK_SALT_FILE, else "
                        "<course>/hidden_inputs.salt, created at the first grading)")
    g = p.add_argument_group("where it runs")
    g.add_argument("--workers", type=int, default=default_workers(),
                   help="parallel worker processes "
                        "(default: %(default)s; 1 grades in this process)")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask distributed cluster, e.g. tcp://127.0.0.1:8786 "
                        "(its workers must be able to import autograder)")
    g.add_argument("--python-path", action="append", default=[], metavar="DIR",
                   help="folder the grader adds to sys.path to import the hidden checks "
                        "(repeatable; it is hidden from the sandbox)")
    g = p.add_argument_group("what it grades with")
    g.add_argument("--manifest-package", default="autograder.assignments",
                   help="package holding the assignment manifests (default: %(default)s)")
    g.add_argument("--manifest", metavar="MODULE",
                   help="manifest module to use instead of searching --manifest-package")
    g.add_argument("--test-timeout", type=float, metavar="S",
                   help="seconds per test cell when the manifest sets none (default: the "
                        "manifest package's DEFAULT_TIMEOUT_S, else 30)")
    g.add_argument("--cell-timeout", type=float, metavar="S",
                   help="seconds per code cell (default: the course's Execute.timeout, else 120)")
    g = p.add_argument_group("sandbox limits")
    d = SandboxSettings()
    g.add_argument("--isolation", choices=["bwrap", "process"], default=d.isolation,
                   help="bwrap (default) or process: rlimits and seccomp only, no file or "
                        "network isolation, and the reference modules' source is readable "
                        "(UNSAFE: for machines without bubblewrap)")
    g.add_argument("--memory-mb", type=int, default=d.memory_mb,
                   help="address space per student process (default: %(default)s)")
    g.add_argument("--cpu-s", type=int, default=d.cpu_s,
                   help="CPU seconds per student process (default: %(default)s)")
    g.add_argument("--file-mb", type=int, default=d.file_mb,
                   help="largest file it may write (default: %(default)s)")
    g.add_argument("--scratch-mb", type=int, default=d.scratch_mb,
                   help="size of its writable /tmp, wiped between students (default: %(default)s)")
    g.add_argument("--shm-mb", type=_amount(int), default=d.shm_mb,
                   help="size of its writable /dev/shm, wiped between students "
                        "(default: %(default)s)")
    g.add_argument("--output-kb", type=int, default=d.output_kb,
                   help="printed output kept per cell (default: %(default)s)")
    g.add_argument("--max-notebook-mb", type=int, default=GraderSettings().max_file_mb,
                   help="larger notebooks are reported and not graded (default: %(default)s)")
    g.add_argument("--max-restarts", type=int, default=GraderSettings().max_restarts,
                   help="sandbox restarts per notebook after crashes or hangs "
                        "(default: %(default)s)")
    gd = GraderSettings()
    g.add_argument("--submission-s", type=_amount(float), default=gd.submission_s, metavar="S",
                   help="wall seconds for all of one submission's code, replays included; "
                        "what cannot run then is 'not run' (default: %(default)g)")
    g.add_argument("--submission-cpu-s", type=_amount(float), default=gd.submission_cpu_s,
                   metavar="S",
                   help="CPU seconds for all of one submission's processes, measured outside "
                        "them (default: %(default)g)")
    g.add_argument("--replay-s", type=_amount(float, strict=False), default=gd.replay_s,
                   metavar="S",
                   help="wall seconds per submission for re-running cells after a crash; a "
                        "replayed cell also gets at most twice its first time "
                        "(default: %(default)g)")
    g.add_argument("--grader-s", type=_amount(float, strict=False), default=gd.grader_s,
                   metavar="S",
                   help="the grader's own seconds per test on the submission's values, beyond "
                        "the test's limit (default: %(default)g)")
    g.add_argument("--values-mb", type=_amount(int), default=gd.values_mb,
                   help="values the grader accepts from the submission per test "
                        "(default: %(default)s)")
    g.add_argument("--transfer-mb", type=_amount(int), default=d.transfer_mb,
                   help="largest single message from the submission (default: %(default)s)")
    g.add_argument("--hide", action="append", default=[], metavar="PATH",
                   help="another host path to hide from the sandbox (repeatable)")
    g.add_argument("--expose", action="append", default=[], metavar="PATH",
                   help="another host path to bind read-only into the sandbox (repeatable); "
                        "nothing else of the host is there but the Python runtime")
    g = p.add_argument_group("outputs")
    g.add_argument("--reports", type=Path, metavar="DIR",
                   help="folder for grades.csv, feedback/ and results.json "
                        "(default: <course>/reports/<assignment>)")
    g.add_argument("--csv", type=Path, metavar="FILE",
                   help="grades CSV (default: <reports>/grades.csv)")
    g.add_argument("--no-gradebook", action="store_true",
                   help="do not write the gradebook or autograded/ (the assignment then need "
                        "not be in the gradebook)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def options_from(args) -> BatchOptions:
    sandbox = SandboxSettings(isolation=args.isolation, memory_mb=args.memory_mb,
                              cpu_s=args.cpu_s, file_mb=args.file_mb,
                              scratch_mb=args.scratch_mb, shm_mb=args.shm_mb,
                              output_kb=args.output_kb, transfer_mb=args.transfer_mb,
                              hide=tuple(args.hide), expose=tuple(args.expose))
    settings = GraderSettings(sandbox=sandbox, max_restarts=args.max_restarts,
                              max_file_mb=args.max_notebook_mb, submission_s=args.submission_s,
                              submission_cpu_s=args.submission_cpu_s, replay_s=args.replay_s,
                              grader_s=args.grader_s, values_mb=args.values_mb)
    return BatchOptions(
        course=args.course, assignment=args.assignment,
        students=tuple(args.students) if args.students else None,
        workers=args.workers, scheduler=args.scheduler, settings=settings,
        manifest_package=args.manifest_package, manifest=args.manifest,
        python_path=tuple(args.python_path), reports=args.reports, csv=args.csv,
        record=not args.no_gradebook, progress=not args.no_progress,
        cell_timeout_s=args.cell_timeout, test_timeout_s=args.test_timeout,
        repeat=args.repeat, salt_file=args.salt_file)


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    opts = options_from(args)
    try:
        check_options(opts)
        result = grade_assignment(opts)
    except (CourseError, SandboxUnavailable, OptionError) as exc:
        print(f"error: {terminal_text(exc, multiline=True)}", file=sys.stderr)
        return 2
    print(result.summary())
    print(f"\ngrades: {result.csv}\nfeedback: {result.reports / 'feedback'}\n"
          f"what the class got wrong: {result.reports / 'class-report.html'}")
    return result.exit_status
