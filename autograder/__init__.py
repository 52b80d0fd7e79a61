"""Instructor-only grading for the cnnbook exercises.

Never shipped to students (it lives outside ``src/`` and is not installed):

* :mod:`autograder.checks` holds one hidden check function per graded test cell
  (``autograder/checks/psNN.py``); the notebooks' hidden test regions call them.
* :mod:`autograder.assignments` holds one manifest per assignment: the test cells,
  the student names each uses, the reference functions a student may not call.
* :mod:`autograder.seeds` derives the private, reproducible inputs of the checks.
* ``python -m autograder`` grades a folder of submissions.
"""
