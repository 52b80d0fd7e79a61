"""``python -m autograder``: see :mod:`autograder.grader.cli` (``--help``)."""

import sys

from autograder.grader.cli import main

if __name__ == "__main__":
    sys.exit(main())
