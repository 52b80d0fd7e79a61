"""A student's folder read as data: no link followed, no special file opened, no size trusted.

The contract, for every file the grader reads from a submission (the notebooks, the other
files copied into the sandbox and into ``autograded/``, ``timestamp.txt``):

* every path component below the trusted base (``submitted/``) is opened with
  ``O_NOFOLLOW`` relative to its parent's descriptor, so a component that is a symbolic
  link is never followed, whatever it points to (a peer's notebook, the checks, the
  gradebook, ``/proc/self/environ``, a folder);
* an entry is read only when ``lstat`` says it is a regular file and the descriptor
  opened (``O_NOFOLLOW | O_NONBLOCK``) is that same file; FIFOs, sockets and devices
  are refused without being opened;
* a file with more hard links than names inside the student's folder is refused: one of
  its names is elsewhere (the checks, the gradebook, another course file), and nothing
  can tell which. Hard links that stay inside the folder (an unpacked tar archive) are
  kept. Submissions that arrive by ``nbgrader collect``, a zip or a git clone have no
  hard links at all, and with Linux's ``protected_hardlinks`` a student can only link
  files it owns or may write, so the rule refuses links an attacker made to a file the
  grader can read, without refusing honest submissions;
* the bytes actually read are capped (``/proc`` files report a size of 0); a file over
  its cap is refused, and so is anything past the cap on the folder's entries, depth or
  total size;
* names with control characters, or that are not valid UTF-8, are refused.

Every refusal is a sentence naming the file, for the student's feedback and the
instructor's CSV; the rest of the submission is graded.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .untrusted import shown_name, visible_controls

MAX_ENTRIES = 5000          #: files and folders looked at in one submission
MAX_DEPTH = 16              #: folders inside folders
MAX_FILES_BYTES = 50 << 20  #: all the files other than the notebooks, together
MAX_TIMESTAMP_BYTES = 1024
TIMESTAMP = "timestamp.txt"

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


class Refused(Exception):
    """A path the grader will not read; the message says why."""


def kind_of(mode: int) -> str:
    """What a non-regular entry is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    return "not a regular file"


def name_problem(name: str) -> str | None:
    """Why a file name from a submission is not kept (None: it is fine)."""
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in name):
        return "its name is not valid UTF-8"
    if visible_controls(name) != name:
        return "its name has control characters"
    return None


def open_below(base: Path, parts) -> int:
    """A descriptor of the folder ``base/parts[0]/parts[1]/...``; ``base`` is trusted,
    every part is opened without following a link. Raises :class:`Refused`."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                raise Refused(f"{shown_name(part)} does not exist") from None
            if not stat.S_ISDIR(st.st_mode):
                raise Refused(f"{shown_name(part)} is {kind_of(st.st_mode)}, not a folder")
            try:
                new = os.open(part, _OPEN_DIR, dir_fd=fd)
            except OSError as exc:
                raise Refused(f"{shown_name(part)} cannot be opened as a folder "
                              f"({os.strerror(exc.errno)})") from None
            os.close(fd)
            fd = new
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_at(dir_fd: int, name: str, limit: int, expect=None) -> bytes:
    """At most ``limit`` bytes of the regular file ``name`` in ``dir_fd``, never through
    a link and never from anything but a regular file (``expect``: the ``lstat``
    result it must still match). Raises :class:`Refused`."""
    try:
        fd = os.open(name, _OPEN_FILE, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused("it is a symbolic link; links are not followed") from None
        raise Refused(f"it cannot be opened ({os.strerror(exc.errno)})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"it is {kind_of(st.st_mode)}; only regular files are read")
        if expect is not None and (st.st_dev, st.st_ino) != (expect.st_dev, expect.st_ino):
            raise Refused("it changed while it was being read")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise Refused(f"it is over the {_size(limit)} limit; not read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _size(n: int) -> str:
    return f"{n / 2**20:g} MB" if n >= 2**20 else f"{n / 2**10:g} KB" if n >= 2**10 \
        else f"{n} bytes"


# ---------------------------------------------------------------------------
# a whole submission folder
# ---------------------------------------------------------------------------

@dataclass
class Entry:
    rel: str            #: path inside the folder, with /
    dir_rel: str        #: its folder's path
    name: str
    st: os.stat_result


@dataclass
class Submission:
    """What was read from one student's folder."""

    notebooks: dict = field(default_factory=dict)   #: name -> bytes (top-level <name>.ipynb)
    problems: dict = field(default_factory=dict)    #: notebook name -> why it was not read
    files: list = field(default_factory=list)       #: (rel, bytes): every other file kept
    timestamp: str | None = None                    #: timestamp.txt, stripped
    refused: list = field(default_factory=list)     #: one sentence per refused path


def _ignored(rel: str, ignore) -> bool:
    return any(fnmatch.fnmatch(part, pat) for part in rel.split("/") for pat in ignore)


def _scan(fd: int, ignore, refused: list):
    """Every entry of the folder open at ``fd`` (``lstat`` only, nothing opened but
    folders, which are opened without following links); ``{rel: fd}`` of its folders."""
    entries, folders = [], {"": fd}
    todo = [("", fd, 0)]
    count = 0
    while todo:
        rel_dir, dfd, depth = todo.pop()
        try:
            names = sorted(os.listdir(dfd))
        except OSError as exc:
            refused.append(f"the folder {shown_name(rel_dir or '.')} cannot be listed "
                           f"({os.strerror(exc.errno)})")
            continue
        for name in names:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            count += 1
            if count > MAX_ENTRIES:
                refused.append(f"the submission has more than {MAX_ENTRIES} files and folders; "
                               "the rest were not read")
                return entries, folders
            try:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except OSError:
                continue
            entries.append(Entry(rel, rel_dir, name, st))
            if stat.S_ISDIR(st.st_mode) and not _ignored(rel, ignore):
                if depth + 1 > MAX_DEPTH:
                    refused.append(f"{shown_name(rel)}: folders nested more than {MAX_DEPTH} "
                                   "deep are not read")
                    continue
                try:
                    sub = os.open(name, _OPEN_DIR, dir_fd=dfd)
                except OSError as exc:
                    refused.append(f"{shown_name(rel)}: the folder cannot be opened "
                                   f"({os.strerror(exc.errno)})")
                    continue
                folders[rel] = sub
                todo.append((rel, sub, depth + 1))
    return entries, folders


def read_folder(base: Path, parts, notebooks=(), *, ignore=(), notebook_limit: int,
                files_limit: int | None = None, want_files: bool = True) -> Submission:
    """Read the submission folder ``base/parts...`` under the rules above: the
    top-level ``<name>.ipynb`` of every name in ``notebooks`` (at most
    ``notebook_limit`` bytes each), ``timestamp.txt``, and (``want_files``) every other
    file not matched by ``ignore`` (nbgrader's patterns) up to ``files_limit`` bytes in
    all. Other notebooks are not read. Raises :class:`Refused` when the folder itself
    cannot be opened safely."""
    files_limit = MAX_FILES_BYTES if files_limit is None else files_limit
    out = Submission()
    fd = open_below(base, parts)
    folders = {"": fd}
    try:
        entries, folders = _scan(fd, ignore, out.refused)
        inside = {}
        for e in entries:
            inside[(e.st.st_dev, e.st.st_ino)] = inside.get((e.st.st_dev, e.st.st_ino), 0) + 1
        wanted = {f"{n}.ipynb": n for n in notebooks}
        total = 0
        for e in entries:
            top = e.dir_rel == ""
            if not (top and e.name in wanted) and _ignored(e.rel, ignore):
                continue
            is_notebook = top and e.name in wanted
            if stat.S_ISDIR(e.st.st_mode) and not is_notebook:
                continue
            is_stamp = top and e.name == TIMESTAMP
            if not (is_notebook or is_stamp) and (not want_files or e.name.endswith(".ipynb")):
                continue
            why = name_problem(e.name)
            if why is None:
                why = _link_problem(e, inside)
            if why is None:
                limit = (notebook_limit if is_notebook else MAX_TIMESTAMP_BYTES if is_stamp
                         else files_limit - total)
                try:
                    data = read_at(folders[e.dir_rel], e.name, max(limit, 0), expect=e.st)
                except Refused as exc:
                    why = str(exc)
                    if not is_notebook and not is_stamp and "over the" in why:
                        why = (f"the submission's files are over {_size(files_limit)} "
                               "together; not copied")
            if why is not None:
                if is_notebook:  # reported with the notebook's own notes
                    out.problems[wanted[e.name]] = f"the notebook {e.name} was not read: {why}"
                else:
                    out.refused.append(f"{shown_name(e.rel)} was not read: {why}")
                continue
            if is_notebook:
                out.notebooks[wanted[e.name]] = data
            elif is_stamp:
                out.timestamp = data.decode("utf-8", "replace").strip() or None
            else:
                total += len(data)
                out.files.append((e.rel, data))
        out.files.sort()
        return out
    finally:
        for sub in folders.values():
            os.close(sub)


def _link_problem(e: Entry, inside: dict) -> str | None:
    mode = e.st.st_mode
    if stat.S_ISLNK(mode):  # where it points is not repeated: it may name a secret
        return "it is a symbolic link; links are not followed"
    if not stat.S_ISREG(mode):
        return f"it is {kind_of(mode)}; only regular files are read"
    if e.st.st_nlink > inside.get((e.st.st_dev, e.st.st_ino), 0):
        return ("it is a hard link to a file outside the submission's folder "
                f"({e.st.st_nlink} names); submit a copy of the file instead")
    return None
