"""Private, reproducible randomness for the hidden checks.

Every hidden check draws its inputs from ``rng(test_name)`` or
``torch_generator(test_name)``. The seed is a hash of the course's salt and the test's
name: a regrade sees the same inputs, a student cannot predict them, and a new salt
gives a fresh set for a new term.

Where the salt comes from, first match wins:

1. :func:`using` (the grader wraps each job in it; the job carries the course's salt);
2. the file named by the environment variable ``CNNBOOK_SALT_FILE``. The grading
   commands set it: ``python -m autograder`` and ``exercises/course.py autograde`` to
   the course's salt file, and the course's ``nbgrader_config.py`` for the kernels of a
   plain ``nbgrader autograde``. When that file does not exist yet it is created with a
   random salt (mode 0600): a course's first grading draws its salt;
3. outside any course (the test suite running the checks in-process):
   :data:`DEVELOPMENT_SALT`, which is public. Inside a Jupyter kernel (where the
   nbgrader path runs the checks) there is no such fallback: a kernel without a salt
   raises :class:`SaltError` rather than grade with public inputs.

The salt file lives beside the course's gradebook (``<course>/hidden_inputs.salt``),
is never committed (``.gitignore``) and is hidden from the sandbox with the course. A new
term draws a new one with ``python -m autograder.seeds new --course exercises``; an
instructor's own salt is any line of 16 or more characters in that file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sys
from pathlib import Path

import numpy as np

#: The environment variable naming the salt file.
SALT_FILE_ENV = "CNNBOOK_SALT_FILE"
#: The salt file's name in a course folder, beside ``gradebook.db``.
SALT_FILE_NAME = "hidden_inputs.salt"
#: The public salt of the test suite and of development outside a course. Never used to
#: grade: anyone can compute every hidden input from it (it was once committed as the
#: course's salt, and the test suite's expectations were written with it).
DEVELOPMENT_SALT = "cnnbook/hidden/7f3c9a1e5b2d4086"
MIN_SALT_CHARS = 16

_HEADER = ("# The salt of this course's hidden inputs: keep it private, never commit it.\n"
           "# Regrades keep it; a new term draws a new one with\n"
           "#     python -m autograder.seeds new --course <course folder>\n")

_override: list = []
_cache: dict = {}


class SaltError(RuntimeError):
    """No usable salt where grading needs one; the message says what to do."""


def seed(test_name: str) -> int:
    """A 63-bit seed derived from the course's salt and ``test_name``."""
    if not isinstance(test_name, str) or not test_name:
        raise TypeError(f"test_name must be a non-empty str; got {test_name!r}")
    digest = hashlib.sha256(f"{salt()}\0{test_name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def rng(test_name: str) -> np.random.Generator:
    """A fresh NumPy generator for one hidden test."""
    return np.random.default_rng(seed(test_name))


def torch_generator(test_name: str):
    """A fresh CPU ``torch.Generator`` for one hidden test (imports torch on demand)."""
    import torch

    return torch.Generator().manual_seed(seed(test_name))


# ---------------------------------------------------------------------------
# where the salt comes from
# ---------------------------------------------------------------------------

def salt() -> str:
    """The salt in force (see the module's documentation for the order)."""
    if _override:
        return _override[-1]
    path = os.environ.get(SALT_FILE_ENV)
    if path:
        return load(path, create=True)
    if _in_kernel():
        raise SaltError(
            f"no salt for the hidden inputs: {SALT_FILE_ENV} is not set in this kernel. Grade "
            "from the course folder (its nbgrader_config.py points the kernels at the "
            f"course's {SALT_FILE_NAME}), or set {SALT_FILE_ENV} to the salt file")
    return DEVELOPMENT_SALT


@contextlib.contextmanager
def using(value: str | None):
    """Draw every seed from ``value`` inside the block (``None``: no change)."""
    if value is None:
        yield
        return
    _check(value, "salt")
    _override.append(value)
    try:
        yield
    finally:
        _override.pop()


def course_salt_file(course_root) -> Path:
    """Where a course keeps its salt: ``$CNNBOOK_SALT_FILE`` when set, else beside its
    gradebook in the course folder."""
    env = os.environ.get(SALT_FILE_ENV)
    return Path(env) if env else Path(course_root) / SALT_FILE_NAME


def load(path, create: bool = False) -> str:
    """The salt kept in ``path`` (comment lines start with ``#``); with ``create``, a
    missing file is first created with a new random salt."""
    path = Path(path)
    try:
        st = path.stat()
        key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
        if key in _cache:
            return _cache[key]
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not create:
            raise SaltError(f"the salt file {path} does not exist") from None
        try:
            return new(path, replace=False)[0]
        except OSError as exc:
            raise SaltError(f"the salt file {path} cannot be created: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SaltError(f"the salt file {path} cannot be read: {exc}") from None
    value = "".join(line.strip() for line in text.splitlines()
                    if line.strip() and not line.lstrip().startswith("#"))
    _check(value, f"the salt in {path}")
    _cache[key] = value
    return value


def new(path, replace: bool = True) -> tuple:
    """Write a new random salt to ``path`` (mode 0600); ``(salt, created)``. Without
    ``replace`` an existing salt is kept and returned (``created`` False): two
    graders starting at once agree on one salt."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_HEADER + value + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)      # atomic, and never over an existing salt
            except FileExistsError:
                return load(path), False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return value, True


def _check(value, what: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str; got {type(value).__name__}")
    if len(value) < MIN_SALT_CHARS:
        raise SaltError(f"{what} has {len(value)} characters; a salt needs at least "
                        f"{MIN_SALT_CHARS} (draw one with `python -m autograder.seeds new`)")
    if value == DEVELOPMENT_SALT:
        raise SaltError(f"{what} is the public development salt; draw a private one with "
                        "`python -m autograder.seeds new`")


def _in_kernel() -> bool:
    """Whether this is a Jupyter kernel (where the nbgrader path runs the checks)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") \
        else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def main(argv=None) -> int:
    """``python -m autograder.seeds new|path --course DIR``."""
    import argparse

    p = argparse.ArgumentParser(
        prog="python -m autograder.seeds",
        description="The salt of a course's hidden inputs. `new` draws a new one (a new "
                    "term: every hidden input changes; grades already recorded stay); "
                    "`path` prints where it is kept.")
    p.add_argument("command", choices=["new", "path"])
    p.add_argument("--course", type=Path, default=Path("exercises"),
                   help="course folder (default: %(default)s)")
    args = p.parse_args(argv)
    if not args.course.is_dir():
        p.error(f"--course: {args.course} is not a folder")
    path = course_salt_file(args.course.resolve())
    if args.command == "path":
        print(path)
        return 0
    new(path, replace=True)
    print(f"drew a new salt for the hidden inputs in {path} (mode 0600; keep it private)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
