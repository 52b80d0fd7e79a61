"""nbgrader configuration of the cnnbook exercise course (this folder is the course root).

Use ``python exercises/course.py release|autograde|feedback|export``, or nbgrader's own
commands from this folder (``cd exercises && nbgrader autograde ps01_convolution``): this
file gives both what the course needs.

* The kernels that run the hidden tests import ``autograder`` from the repository and
  draw the hidden inputs from this course's salt, ``hidden_inputs.salt`` beside
  ``gradebook.db`` (``$CNNBOOK_SALT_FILE`` when set). The first grading creates it
  (mode 0600; never committed); ``python -m autograder`` grades with the same one.
* What a submission wrote is made inert before formgrader or a feedback page shows it
  (no HTML or JavaScript from a submission runs there), and long error lines wrap.
* nbgrader's "checksum has changed" warning on test cells, which every submission
  triggers because the hidden tests are removed at release, is explained instead.
"""

import os
import sys

c = get_config()  # noqa: F821 - provided by nbgrader when it reads this file

c.CourseDirectory.course_id = "cnnbook"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# What a student sees in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell limit; the longest cell (training LeNet in ps05) takes a few seconds.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Students are created on first submission; no roster needed.
c.Autograde.create_student = True

_HERE = os.path.dirname(os.path.abspath(__file__))


def _repository():
    """The folder holding the instructor-only ``autograder`` package: importable
    already (PYTHONPATH, a test), or the parent of this course folder."""
    try:
        import autograder
    except ImportError:
        parent = os.path.dirname(_HERE)
        if not os.path.isdir(os.path.join(parent, "autograder")):
            return None
        sys.path.append(parent)
        return parent
    return os.path.dirname(os.path.dirname(os.path.abspath(autograder.__file__)))


def _hooks():
    """This course's steps for nbgrader (None: nbgrader's defaults, e.g. with an older
    checkout of the package)."""
    if _REPO is None:
        return None
    try:
        from autograder.grader import nbgrader_hooks
    except ImportError:
        return None
    return nbgrader_hooks


_REPO = _repository()
_HOOKS = _hooks()
_SALT = os.environ.get("CNNBOOK_SALT_FILE") or os.path.join(_HERE, "hidden_inputs.salt")

# The kernels: IPython's "Minimal" tracebacks (with code context, a failed test's
# traceback would quote the hidden tests' lines in the feedback); the salt file and the
# repository (for `import autograder`), set before any cell runs; and an exit without the
# last garbage collections (a second of CPU per submission once torch is loaded), when
# the installed cnnbook has cnnbook.fast_exit.
_FAST_EXIT = """try:
    from cnnbook.fast_exit import freeze_at_exit
except ImportError:
    pass
else:
    freeze_at_exit()
"""
_SETUP = f"import os, sys; os.environ['CNNBOOK_SALT_FILE'] = {_SALT!r}"
if _REPO is not None:
    _SETUP += f"; {_REPO!r} in sys.path or sys.path.append({_REPO!r})"
_SETUP += f"; exec({_FAST_EXIT!r}, {{}})"  # binds no name in the notebook
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal",
                             f"--IPKernelApp.exec_lines={_SETUP}"]

_FEEDBACK = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",   # hidden tests' code never in feedback
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
if _HOOKS is not None:
    c.Autograde.autograde_preprocessors = [
        "nbgrader.preprocessors.Execute",
        "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor",
        "nbgrader.preprocessors.LimitOutput",
        "nbgrader.preprocessors.SaveAutoGrades",
        "nbgrader.preprocessors.AssignLatePenalties",
        "autograder.grader.nbgrader_hooks.NeutraliseSubmission",  # after the grades
        "nbgrader.preprocessors.CheckCellMetadata",
    ]
    _FEEDBACK[2:2] = ["autograder.grader.nbgrader_hooks.NeutraliseSubmission"]
    _FEEDBACK.append("autograder.grader.nbgrader_hooks.WrapLongLines")
    _HOOKS.install_checksum_note(os.path.join(_HERE, c.CourseDirectory.source_directory))
c.GenerateFeedback.preprocessors = _FEEDBACK
