"""A student's folder read as data (``autograder/grader/intake.py``) and the submissions
found in a course (``find_submissions``): every kind of entry a folder can hold, and
every way its files could lead the grader outside it."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from adversarial.intake import make_socket
from autograder.grader import intake
from autograder.grader import nbgrader_course as coursemod

NB = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


@pytest.fixture
def tree(tmp_path):
    """``base/ada/ps`` with a notebook, a timestamp and a data file; ``outside`` holds a
    secret beside it."""
    base = tmp_path / "submitted"
    folder = base / "ada" / "ps"
    folder.mkdir(parents=True)
    (folder / "nb.ipynb").write_bytes(NB)
    (folder / "timestamp.txt").write_text("2030-01-01 12:00:00 UTC\n")
    (folder / "data.txt").write_text("data\n")
    secret = tmp_path / "outside" / "secret.py"
    secret.parent.mkdir()
    secret.write_text("SALT = 'x'\n")
    return base, folder, secret


def read(base, **kw):
    kw.setdefault("notebook_limit", 1 << 20)
    return intake.read_folder(base, ["ada", "ps"], ["nb"], **kw)


def test_an_ordinary_folder_is_read_whole(tree):
    base, folder, _ = tree
    (folder / "sub").mkdir()
    (folder / "sub" / "x.npy").write_bytes(b"\x93NUMPY")
    (folder / "other.ipynb").write_bytes(NB)
    got = read(base)
    assert got.notebooks == {"nb": NB} and got.problems == {} and got.refused == []
    assert got.files == [("data.txt", b"data\n"), ("sub/x.npy", b"\x93NUMPY")]
    assert got.timestamp == "2030-01-01 12:00:00 UTC"


@pytest.mark.parametrize("make", ["relative", "absolute", "chain", "dangling", "proc", "dir"])
def test_links_are_never_followed(tree, make):
    base, folder, secret = tree
    link = folder / "leak.txt"
    if make == "relative":
        os.symlink(os.path.relpath(secret, folder), link)
    elif make == "absolute":
        os.symlink(secret, link)
    elif make == "chain":
        os.symlink(secret, folder / "hop")
        os.symlink("hop", link)
    elif make == "dangling":
        os.symlink(folder / "nowhere", link)
    elif make == "proc":
        os.symlink("/proc/self/environ", link)
    else:
        os.symlink(secret.parent, link)
    got = read(base)
    assert "leak.txt" not in dict(got.files) and "hop" not in dict(got.files)
    assert any("'leak.txt'" in r and "symbolic link" in r for r in got.refused), got.refused
    assert not any(b"SALT" in data for _, data in got.files)
    assert dict(got.files)["data.txt"] == b"data\n"  # the rest is read


def test_a_linked_notebook_is_not_read_and_says_why(tree):
    base, folder, _ = tree
    peer = base / "bob" / "ps"
    peer.mkdir(parents=True)
    (peer / "nb.ipynb").write_bytes(NB)
    (folder / "nb.ipynb").unlink()
    os.symlink("../../bob/ps/nb.ipynb", folder / "nb.ipynb")
    got = read(base)
    assert got.notebooks == {} and "symbolic link" in got.problems["nb"]


def test_a_link_inside_a_subfolder_and_a_linked_subfolder(tree):
    base, folder, secret = tree
    (folder / "sub").mkdir()
    os.symlink(secret, folder / "sub" / "s.py")
    os.symlink(secret.parent, folder / "linked")
    got = read(base)
    refused = " ".join(got.refused)
    assert "'sub/s.py'" in refused and "'linked'" in refused
    assert [rel for rel, _ in got.files] == ["data.txt"]


def test_special_files_are_refused_without_being_opened(tree):
    base, folder, _ = tree
    os.mkfifo(folder / "pipe")          # opening it for reading would block
    make_socket(folder / "sock")
    (folder / "timestamp.txt").unlink()
    os.mkfifo(folder / "timestamp.txt")
    done = []
    worker = threading.Thread(target=lambda: done.append(read(base)), daemon=True)
    worker.start()
    worker.join(10)
    assert done, "reading the folder blocked on a FIFO"
    refused = " ".join(done[0].refused)
    assert "'pipe'" in refused and "FIFO" in refused and "'sock'" in refused and "socket" in refused
    assert "'timestamp.txt'" in refused and done[0].timestamp is None


def test_a_device_is_refused(tree):
    """Every kind of entry that is not a regular file or a folder, in words."""
    assert intake.kind_of(os.stat("/dev/null").st_mode) == "a device"
    assert intake.kind_of(stat.S_IFBLK) == "a device"
    assert intake.kind_of(stat.S_IFLNK) == "a symbolic link"
    entry = intake.Entry("null", "", "null", os.stat("/dev/null"))
    assert "a device" in intake._link_problem(entry, {})
    fd = os.open("/dev", os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(intake.Refused, match="a device"):
            intake.read_at(fd, "null", 10)
    finally:
        os.close(fd)


def test_hard_links_out_of_the_folder_are_refused_and_inside_kept(tree):
    base, folder, secret = tree
    os.link(secret, folder / "stolen.py")
    (folder / "a.txt").write_text("same\n")
    (folder / "sub").mkdir()
    os.link(folder / "a.txt", folder / "sub" / "b.txt")
    got = read(base)
    files = dict(got.files)
    assert "stolen.py" not in files and any("hard link" in r for r in got.refused)
    assert files["a.txt"] == files["sub/b.txt"] == b"same\n"


def test_the_bytes_read_are_capped_not_the_size_reported(tree):
    base, folder, _ = tree
    (folder / "nb.ipynb").write_bytes(b"x" * 101)
    got = read(base, notebook_limit=100)
    assert "over the 100 bytes limit" in got.problems["nb"]
    assert read(base, notebook_limit=101).notebooks["nb"] == b"x" * 101
    # /proc reports a size of 0 for files that hold more: the cap counts what is read
    fd = os.open("/proc/self", os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert os.stat("status", dir_fd=fd).st_size == 0
        with pytest.raises(intake.Refused, match="over the 16 bytes"):
            intake.read_at(fd, "status", 16)
    finally:
        os.close(fd)


def test_the_other_files_share_one_allowance(tree):
    base, folder, _ = tree
    (folder / "big.bin").write_bytes(b"\0" * 60)
    (folder / "small.bin").write_bytes(b"\0" * 10)
    got = read(base, files_limit=40)
    files = dict(got.files)
    assert "big.bin" not in files and "data.txt" in files and "small.bin" in files
    assert any("'big.bin'" in r and "not copied" in r for r in got.refused)


def test_names_with_controls_or_not_utf8_are_refused(tree):
    base, folder, _ = tree
    (folder / "a\x1b[2J.txt").write_text("x")
    (folder / "b\u202etxt.exe").write_text("x")
    with open(os.path.join(os.fsencode(folder), b"c\xff.txt"), "w") as fh:
        fh.write("x")
    (folder / "<b>ok<b>.txt").write_text("x")
    got = read(base)
    refused = " ".join(got.refused)
    assert refused.count("control characters") == 2 and "not valid UTF-8" in refused
    assert "\x1b" not in refused and "\u202e" not in refused
    assert "<b>ok<b>.txt" in dict(got.files)


def test_counts_depth_and_ignored_names(tree, monkeypatch):
    base, folder, secret = tree
    deep = folder.joinpath(*[f"d{i}" for i in range(5)])
    deep.mkdir(parents=True)
    (deep / "x.txt").write_text("x")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "m.pyc").write_bytes(b"\0")
    os.symlink(secret, folder / "__pycache__" / "link.pyc")  # ignored: not even reported
    monkeypatch.setattr(intake, "MAX_DEPTH", 3)
    got = read(base, ignore=["__pycache__"])
    assert any("nested more than 3" in r for r in got.refused)
    assert not any("__pycache__" in rel for rel, _ in got.files)
    assert not any("link.pyc" in r for r in got.refused)
    monkeypatch.setattr(intake, "MAX_ENTRIES", 4)
    assert any("more than 4 files" in r for r in read(base).refused)


@pytest.mark.parametrize("what", ["student", "assignment", "file"])
def test_a_folder_on_the_way_that_is_a_link_is_refused(tree, what):
    base, folder, _ = tree
    target = base / "bob" / "ps"
    target.mkdir(parents=True)
    if what == "student":
        os.rename(base / "ada", base / "old")
        os.symlink("bob", base / "ada")
    elif what == "assignment":
        os.rename(folder, base / "ada" / "old")
        os.symlink("../bob/ps", folder)
    else:
        os.rename(base / "ada", base / "old")
        (base / "ada").write_text("a file")
    with pytest.raises(intake.Refused, match="'ada'|'ps'"):
        read(base)


# ---------------------------------------------------------------------------
# the submissions of a course
# ---------------------------------------------------------------------------

class _Dir:
    def __init__(self, root):
        self.submitted_directory = "submitted"
        self.root = str(root)

    def format_path(self, kind, student, assignment):
        return os.path.join(self.root, kind, student, assignment)


def test_find_submissions_refuses_links_and_unsafe_ids(tmp_path):
    root = tmp_path / "course"
    sub = root / "submitted"
    for name in ("ada", "bob", "=1+2", ".hidden", "a\x1b[2Jb", "linkdir", "filly", "cy"):
        (sub / name).mkdir(parents=True)
    for name in ("ada", "bob", "=1+2", ".hidden", "a\x1b[2Jb"):
        (sub / name / "ps").mkdir()
    os.symlink("../bob/ps", sub / "linkdir" / "ps")
    (sub / "filly" / "ps").write_text("not a folder")
    os.symlink("ada", sub / "alias")
    (sub / "stray.txt").write_text("")
    course = coursemod.Course(root, None, _Dir(root))
    found = coursemod.find_submissions(course, "ps")
    assert [s for s, _ in found.submissions] == ["ada", "bob"]  # cy has no ps
    refused = dict(found.refused)
    assert "symbolic link" in refused["alias"] and "symbolic link" in refused["linkdir"]
    assert refused["filly"] == "the assignment folder is a file"
    assert "'='" in refused["'=1+2'"] and "starts with '.'" in refused["'.hidden'"]
    assert "'a\\x1b[2Jb'" in refused
    assert len(found) == 2 and list(found) == found.submissions
    only = coursemod.find_submissions(course, "ps", ("bob", "alias", "zed", "cy"))
    assert [s for s, _ in only.submissions] == ["bob"] and only.missing == ["cy", "zed"]
    assert [n for n, _ in only.refused] == ["alias"]
