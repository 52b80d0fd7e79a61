"""Attacks through the submission's files: links, special files, names and sizes that the
grader reads before any code runs, and text meant to act where the grader shows it.

Most of them set ``scale`` to earn its points only if something the grader must never
read reached the sandbox (a linked file's content, a special file): ``test_scale`` must
get 0 and every other test keep its points. The runner checks the rest: nothing linked
lands in ``autograded/``, nothing active in any page, no escape sequence in the summary,
no formula in the CSV.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
from pathlib import Path

from . import Attack

ALL_TESTS = ("test_scale", "test_relu_forward", "test_relu_backward", "test_conv_output_size")
PEER = "honest"  # graded in the same batch (resources.py)


def _probe(*names: str) -> dict:
    """A ``scale`` that is right only when one of ``names`` (relative to the working
    directory) can be read inside the sandbox."""
    return {"scale": f"""\
def scale(x, a):
    for name in {list(names)!r}:
        try:
            with open(name, "rb") as f:
                if f.read(1):
                    return x * a
        except OSError:
            pass
    return x
"""}


def _present(*names: str) -> dict:
    """A ``scale`` that is right only when every one of ``names`` was copied in, with
    the content the submission wrote (a positive control)."""
    return {"scale": f"""\
def scale(x, a):
    for name in {list(names)!r}:
        try:
            with open(name) as f:
                if f.read() != "kept\\n":
                    return x
        except OSError:
            return x
    return x * a
"""}


def _peer_notebook(subst) -> Path:
    return Path(subst["course"]) / "submitted" / PEER / "tiny" / "tiny.ipynb"


def _secrets(subst) -> list:
    """Files no submission may read: the checks, the manifest, the gradebook, the salt,
    a peer's notebook, the grader's environment and the system's users."""
    course, checks = Path(subst["course"]), Path(subst["checks"])
    return [checks / "tinychecks" / "checks.py", checks / "tinychecks" / "manifest.py",
            course / "gradebook.db", course / "hidden_inputs.salt", _peer_notebook(subst),
            Path("/proc/self/environ"), Path("/proc/self/cmdline"), Path("/etc/passwd")]


# ---------------------------------------------------------------------------
# links
# ---------------------------------------------------------------------------

def _notebook_relative_link(folder: Path, subst) -> None:
    (folder / "tiny.ipynb").unlink()
    os.symlink(f"../../{PEER}/tiny/tiny.ipynb", folder / "tiny.ipynb")


def _notebook_absolute_link(folder: Path, subst) -> None:
    (folder / "tiny.ipynb").unlink()
    os.symlink(_peer_notebook(subst), folder / "tiny.ipynb")


def _file_links(folder: Path, subst) -> None:
    for i, target in enumerate(_secrets(subst)):
        os.symlink(target, folder / f"leak{i}.txt")


def _directory_link(folder: Path, subst) -> None:
    os.symlink(Path(subst["checks"]) / "tinychecks", folder / "data")
    os.symlink(Path(subst["course"]), folder / "course")


def _chain(folder: Path, subst) -> None:
    (folder / "sub").mkdir()
    os.symlink(Path(subst["checks"]) / "tinychecks" / "checks.py", folder / "c")
    os.symlink("c", folder / "b")
    os.symlink("b", folder / "a.py")
    os.symlink(f"../../../{PEER}/tiny/tiny.ipynb", folder / "sub" / "peer.txt")
    os.symlink("/proc/self/environ", folder / "sub" / "env.txt")


def _hard_link_outside(folder: Path, subst) -> None:
    os.link(Path(subst["checks"]) / "tinychecks" / "checks.py", folder / "stolen.py")


def _hard_link_inside(folder: Path, subst) -> None:
    (folder / "kept.txt").write_text("kept\n")
    (folder / "sub").mkdir()
    os.link(folder / "kept.txt", folder / "sub" / "again.txt")


def _student_folder_link(folder: Path, subst) -> None:
    student = folder.parent
    shutil.rmtree(student)
    os.symlink(PEER, student)


def _assignment_folder_link(folder: Path, subst) -> None:
    shutil.rmtree(folder)
    os.symlink(f"../{PEER}/tiny", folder)


# ---------------------------------------------------------------------------
# special files
# ---------------------------------------------------------------------------

def _device(path: Path) -> None:
    """A character device (/dev/zero's numbers); where mknod is not allowed, a link to
    /dev/zero, which the grader must refuse as well."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 5))
    except PermissionError:
        os.symlink("/dev/zero", path)


def make_socket(path: Path) -> None:
    """A Unix socket file at ``path`` (bound by its relative name: socket paths are
    limited to about 100 bytes)."""
    cwd = os.getcwd()
    s = socket.socket(socket.AF_UNIX)
    try:
        os.chdir(path.parent)
        s.bind(path.name)
    finally:
        os.chdir(cwd)
        s.close()


def _special_files(folder: Path, subst) -> None:
    os.mkfifo(folder / "pipe.txt")
    make_socket(folder / "sock.txt")
    _device(folder / "zero.txt")


def _notebook_fifo(folder: Path, subst) -> None:
    (folder / "tiny.ipynb").unlink()
    os.mkfifo(folder / "tiny.ipynb")


def _notebook_folder(folder: Path, subst) -> None:
    (folder / "tiny.ipynb").unlink()
    (folder / "tiny.ipynb").mkdir()
    (folder / "tiny.ipynb" / "inside.txt").write_text("not a notebook\n")


def _timestamp_fifo(folder: Path, subst) -> None:
    (folder / "timestamp.txt").unlink()
    os.mkfifo(folder / "timestamp.txt")


def _timestamp_link(folder: Path, subst) -> None:
    (folder / "timestamp.txt").unlink()
    os.symlink("/proc/self/environ", folder / "timestamp.txt")


# ---------------------------------------------------------------------------
# names, counts and sizes
# ---------------------------------------------------------------------------

HOSTILE_FILE = "<img src=x onerror=alert(1)>.txt"
FORMULA_FILE = '=HYPERLINK("evil.example","x").txt'


def _hostile_names(folder: Path, subst) -> None:
    (folder / HOSTILE_FILE).write_text("kept\n")
    (folder / FORMULA_FILE).write_text("kept\n")
    (folder / "ansi\x1b]0;owned\x07\x1b[2J.txt").write_text("escape\n")
    (folder / "bidi\u202etxt.exe").write_text("bidi\n")
    with open(os.path.join(os.fsencode(folder), b"latin\xff.txt"), "w") as fh:
        fh.write("not UTF-8\n")


def _many_files(folder: Path, subst) -> None:
    (folder / "many").mkdir()
    for i in range(int(subst["max_entries"]) + 10):
        (folder / "many" / f"f{i}").write_bytes(b"")


def _deep(folder: Path, subst) -> None:
    path = folder
    for i in range(int(subst["max_depth"]) + 3):
        path = path / f"d{i}"
    path.mkdir(parents=True)
    (path / "bottom.txt").write_text("deep\n")


def _big_files(folder: Path, subst) -> None:
    limit = int(subst["max_files_bytes"])
    (folder / "big.bin").write_bytes(b"\0" * (limit + 1))  # over the whole allowance


# ---------------------------------------------------------------------------
# text meant to act where it is shown
# ---------------------------------------------------------------------------

XSS = "<script>alert('xss')</script><img src=x onerror=alert(2)>"
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\u202e"


def _xss_notebook(nb):
    cells = nb["cells"]
    cells.insert(0, {"cell_type": "markdown", "id": "xss-md",
                     "metadata": {"tags": ['x" onmouseover="alert(3)'],
                                  "jupyter": {"source_hidden": True}},
                     "source": f"{XSS} [click](javascript:alert(4)) "
                               "[data](DATA:text/html,<script>alert(5)</script>) "
                               "$\\href{javascript:alert(6)}{x}$ &#106;avascript:alert(7)",
                     "attachments": {"a.svg": {"image/svg+xml": "<svg onload=alert(8)/>"}}})
    cells.insert(1, {"cell_type": "raw", "id": "xss-raw",
                     "metadata": {"raw_mimetype": "text/html", "format": "text/html"},
                     "source": XSS})
    cells.insert(2, {"cell_type": "code", "id": "xss-code", "execution_count": None,
                  "metadata": {"tags": ['y" onclick="alert(9)']}, "outputs": [],
                  "source": f"print({XSS + ESCAPES!r})\n"
                            f"raise ValueError({XSS + ESCAPES + 'x' * 300!r})\n"})
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0, "x": XSS}}
    nb["metadata"]["kernelspec"]["display_name"] = XSS
    return nb


ATTACKS = [
    # links, each to something the grader must never read
    Attack("notebook_link_to_peer", "the notebook is a relative link to a peer's notebook",
           setup=_notebook_relative_link, expect={t: False for t in ALL_TESTS},
           notes=("symbolic link",), status="unreadable"),
    Attack("notebook_abs_link_to_peer", "the notebook is an absolute link to a peer's notebook",
           setup=_notebook_absolute_link, expect={t: False for t in ALL_TESTS},
           notes=("symbolic link",), status="unreadable"),
    Attack("links_to_secrets", "links to the checks, manifest, gradebook, salt, a peer's "
           "notebook, /proc/self/environ, /etc/passwd",
           setup=_file_links, answers=_probe(*(f"leak{i}.txt" for i in range(8))),
           expect={"test_scale": False}, notes=("symbolic link",)),
    Attack("link_to_folders", "links to the checks' folder and to the course folder",
           setup=_directory_link,
           answers=_probe("data/checks.py", "course/gradebook.db", "course/hidden_inputs.salt"),
           expect={"test_scale": False}, notes=("symbolic link",)),
    Attack("link_chain", "a chain of links to the checks; links in a subfolder",
           setup=_chain, answers=_probe("a.py", "b", "c", "sub/peer.txt", "sub/env.txt"),
           expect={"test_scale": False}, notes=("symbolic link",)),
    Attack("hard_link_to_checks", "a hard link to the hidden checks",
           setup=_hard_link_outside, answers=_probe("stolen.py"),
           expect={"test_scale": False}, notes=("hard link",)),
    Attack("hard_link_inside", "two names of one file, both in the folder (kept: control)",
           setup=_hard_link_inside, answers=_present("kept.txt", "sub/again.txt")),
    Attack("student_folder_link", "the student's folder is a link to a peer's",
           setup=_student_folder_link, status="refused", notes=("symbolic link",)),
    Attack("assignment_folder_link", "the assignment folder is a link to a peer's",
           setup=_assignment_folder_link, status="refused", notes=("symbolic link",)),
    # special files
    Attack("special_files", "a FIFO, a socket and a device among the files",
           setup=_special_files, answers=_probe("pipe.txt", "sock.txt", "zero.txt"),
           expect={"test_scale": False}, notes=("FIFO", "socket")),
    Attack("notebook_fifo", "the notebook is a FIFO (reading it would block)",
           setup=_notebook_fifo, expect={t: False for t in ALL_TESTS}, notes=("FIFO",),
           status="unreadable"),
    Attack("notebook_folder", "the notebook is a folder", setup=_notebook_folder,
           expect={t: False for t in ALL_TESTS}, notes=("folder",), status="unreadable"),
    Attack("timestamp_fifo", "timestamp.txt is a FIFO", setup=_timestamp_fifo,
           notes=("timestamp.txt", "FIFO")),
    Attack("timestamp_link", "timestamp.txt links to /proc/self/environ",
           setup=_timestamp_link, notes=("timestamp.txt", "symbolic link")),
    # names, counts, sizes
    Attack("hostile_file_names", "files named with HTML, a formula, escape sequences, a "
           "bidi override and bytes that are not UTF-8",
           setup=_hostile_names, answers=_present(HOSTILE_FILE, FORMULA_FILE),
           notes=("control characters", "UTF-8")),
    Attack("many_files", "more files than the grader looks at", setup=_many_files,
           notes=("more than",)),
    Attack("deep_folders", "folders nested deeper than the grader goes", setup=_deep,
           notes=("nested",)),
    Attack("big_files", "other files over the allowance for a submission",
           setup=_big_files, notes=("big.bin", "not copied")),
    # hostile student ids: refused, shown escaped, never graded under another name
    Attack("id_formula", "the student id is =1+2", student="=1+2", status="refused",
           notes=("student id",)),
    Attack("id_html", "the student id is HTML", student="<img src=x onerror=alert(1)>",
           status="refused", notes=("student id",)),
    Attack("id_escapes", "the student id holds terminal escapes", student="a\x1b[2J\x1b]0;x\x07b",
           status="refused", notes=("student id",)),
    Attack("id_dot", "the student id starts with a dot", student=".hidden", status="refused",
           notes=("starts with",)),
    Attack("id_dash", "the student id starts with a dash", student="-rf", status="refused",
           notes=("starts with",)),
    Attack("id_newline", "the student id holds a newline and a space",
           student="ada\nNOT GRADED: everyone", status="refused", notes=("student id",)),
    # text meant to act where it is shown
    Attack("active_text", "HTML, JavaScript and terminal escapes in markdown, a raw cell, "
           "cell tags, widget state, printed output and an exception message",
           mutate=_xss_notebook),
]
