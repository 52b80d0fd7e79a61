"""nbgrader configuration of the cnnbook exercise course (this folder is the course root).

Use ``python exercises/course.py release|autograde|feedback|export``: it runs nbgrader
here with the repository root on PYTHONPATH, which the hidden tests need.
"""

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

# Feedback shows each test's outcome and message but not the hidden tests' code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# A failing cell reports only its error (IPython's "Minimal" tracebacks): with code
# context, a failed test's traceback would quote the hidden tests' lines in the feedback.
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal"]
