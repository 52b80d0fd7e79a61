"""``python -m autograder``: see :mod:`autograder.grader.cli` (``--help``)."""

import sys

from autograder.grader.cli import main

if __name__ == "__main__":
    # The command holds nbgrader, SQLAlchemy and the checks' modules when it ends; its
    # last collections over them would only delay the exit.
    from cnnbook.fast_exit import freeze_at_exit

    freeze_at_exit()
    sys.exit(main())
