"""The bubblewrap command (autograder/grader/bwrap.py), read without running bubblewrap: an
allow-list of host paths, every writable place a size-capped tmpfs, nothing of the host
on the command line, and a virtual environment reached through a symlink found at its
real place."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from autograder.grader import bwrap
from autograder.grader.settings import SandboxSettings

REPO = Path(__file__).resolve().parents[1]


def _pairs(options, flag: str, n: int = 2) -> list:
    return [tuple(options[i + 1:i + 1 + n]) for i, a in enumerate(options) if a == flag]


def _plan(settings=None, secrets=(REPO, REPO / "autograder"), **kw):
    settings = settings or SandboxSettings()
    mounts = bwrap.plan_mounts(settings, [str(s) for s in secrets], ("numpy",), **kw)
    return mounts, bwrap.bwrap_args(settings, mounts, {"/etc/passwd": 9})


def test_the_root_is_an_allow_list_not_the_host():
    mounts, options = _plan()
    binds = _pairs(options, "--ro-bind")
    assert ("/", "/") not in binds and "--bind" not in options and "--dev-bind" not in options
    dests = [d for _s, d in binds]
    for needed in (os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
                   os.path.dirname(os.path.realpath(__import__("numpy").__file__))):
        assert any(needed == d or needed.startswith(d + "/") for d in dests), needed
    for private in ("/root", "/home", "/srv", "/opt", "/etc", "/var", "/work", "/mnt", str(REPO)):
        assert private not in dests, private
    # only the runtime, the libraries and cnnbook's source: nothing else of the checkout
    inside_repo = [d for d in dests if d.startswith(str(REPO) + "/")]
    assert all(Path(d).name in (".venv", "src") or ".venv" in Path(d).parts
               for d in inside_repo), inside_repo


def test_secrets_are_never_bound_and_covered_inside_a_bound_folder(tmp_path):
    shared = tmp_path / "shared"
    (shared / "checks").mkdir(parents=True)
    (shared / "salt.txt").write_text("s")
    settings = SandboxSettings(expose=(str(shared),))
    mounts, options = _plan(settings, secrets=(REPO, shared / "checks", shared / "salt.txt"))
    assert (str(shared), str(shared)) in _pairs(options, "--ro-bind")
    assert ("/dev/null", str(shared / "salt.txt")) in _pairs(options, "--ro-bind")
    tmpfs = [options[i + 1] for i, a in enumerate(options) if a == "--tmpfs"]
    assert str(shared / "checks") in tmpfs
    assert options.index(str(shared / "checks")) > options.index(str(shared))  # deeper after
    assert ("/work/elsewhere",) not in _pairs(options, "--ro-bind", 1)


def test_writable_places_are_capped_and_everything_else_read_only():
    settings = SandboxSettings(scratch_mb=32, shm_mb=8)
    _mounts, options = _plan(settings)
    sizes = {options[i + 5]: int(options[i + 1]) for i, a in enumerate(options)
             if a == "--size" and options[i + 4] == "--tmpfs"}
    assert sizes == {"/tmp": 32 << 20, "/dev/shm": 8 << 20}
    assert options.index("--dev") < options.index("/dev/shm")
    for path in ("/", "/dev", "/proc"):
        assert ("--remount-ro", path) in list(zip(options, options[1:]))
    assert options[-1 - options[::-1].index("--remount-ro") + 1] == "/"
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent",
                 "--new-session", "--clearenv"):
        assert flag in options
    assert ("--cap-drop", "ALL") in list(zip(options, options[1:]))
    assert ("/etc/passwd",) in _pairs(options, "--ro-bind-data", 2)[0][1:] or \
        _pairs(options, "--ro-bind-data") == [("9", "/etc/passwd")]


def test_the_command_line_carries_no_host_path(tmp_path):
    argv, options = bwrap.bwrap_command(SandboxSettings(), [str(REPO)], 7, 8)
    assert argv[1:4] == ["--args", "8", "--"]
    tail = argv[4:]
    assert tail[0] == bwrap.python_executable() and tail[-1] == "7"
    assert bwrap.BOOTSTRAP in tail
    text = " ".join(argv)
    assert str(REPO / "autograder") not in text and "site-packages" not in text
    assert len(text) < 1000
    blob = bwrap.encode_args(options)
    assert blob.endswith(b"\0") and blob.count(b"\0") == len(options)
    with pytest.raises(ValueError, match="NUL"):
        bwrap.encode_args(["--setenv", "A\0B"])


def test_the_environment_inside_is_fixed():
    env = bwrap.sandbox_env()
    assert env["HOME"] == bwrap.WORKDIR and env["TMPDIR"] == "/tmp"
    assert env["OMP_NUM_THREADS"] == "1" and env["PYTHONHASHSEED"] == "0"
    leaked = {k for k in os.environ if k not in env and k not in ("OPENBLAS_CORETYPE",)}
    assert "PATH" not in leaked or env["PATH"] == "/usr/local/bin:/usr/bin:/bin"
    files = bwrap.etc_files(uid=1234, gid=99)
    assert b":1234:99:" in files["/etc/passwd"] and files["/etc/group"] == b"sandbox:x:99:\n"
    assert all(os.uname().nodename.encode() not in v for v in files.values()
               if os.uname().nodename not in ("localhost", "sandbox"))


def _fake_venv(tmp_path):
    """base/bin/python3.11 (a file), venv/bin/python -> python3 -> base/bin/python3.11, and
    course/.venv -> venv: a shared venv reached through a symlink."""
    base = tmp_path / "base"
    (base / "bin").mkdir(parents=True)
    (base / "lib" / "python3.11").mkdir(parents=True)
    (base / "bin" / "python3.11").write_text("#!binary")
    venv = tmp_path / "srv" / "venvs" / "cnnbook"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {base / 'bin'}\n")
    os.symlink(base / "bin" / "python3.11", venv / "bin" / "python3")
    os.symlink("python3", venv / "bin" / "python")
    course = tmp_path / "course"
    course.mkdir()
    os.symlink(venv, course / ".venv")
    return base, venv, course


def test_a_venv_reached_through_a_symlink_is_run_at_its_real_place(tmp_path):
    base, venv, course = _fake_venv(tmp_path)
    exe = str(course / ".venv" / "bin" / "python")
    assert bwrap.python_executable(exe) == str(venv / "bin" / "python")  # name kept, folder real
    chain = bwrap.link_chain(bwrap.python_executable(exe))
    assert chain == [(str(venv / "bin" / "python"), "python3"),
                     (str(venv / "bin" / "python3"), str(base / "bin" / "python3.11")),
                     (str(base / "bin" / "python3.11"), None)]
    sites = [str(course / ".venv" / "lib" / "python3.11" / "site-packages")]
    mounts = bwrap.plan_mounts(SandboxSettings(), [str(course)], (), executable=exe, sites=sites)
    dests = [d for _s, d in mounts.binds]
    assert str(base / "bin" / "python3.11") in dests
    assert str(venv / "lib" / "python3.11" / "site-packages") in dests
    assert not any(d == str(course) or d.startswith(str(course) + "/") for d in dests), dests
    links = dict((d, t) for t, d in mounts.links)
    assert links[str(venv / "bin" / "python")] == "python3"
    argv, _ = bwrap.bwrap_command(SandboxSettings(), [str(course)], 3, 4, executable=exe)
    assert argv[4] == str(venv / "bin" / "python")


def test_a_symlinked_folder_outside_the_secrets_is_bound_at_both_paths(tmp_path):
    real = tmp_path / "real-src"
    real.mkdir()
    link = tmp_path / "src-link"
    os.symlink(real, link)
    exposed = SandboxSettings(expose=(str(link),))
    mounts = bwrap.plan_mounts(exposed, [], ())
    assert (str(real), str(real)) in mounts.binds and (str(real), str(link)) in mounts.binds


def _site_with_reference(tmp_path):
    """site/book/ (a package folder on the import path) holding a sealed module with its
    cached bytecode beside a module that is not sealed, and a sealed package."""
    import importlib.util

    site = tmp_path / "site"
    book = site / "book"
    (book / "__pycache__").mkdir(parents=True)
    (book / "nets").mkdir()
    for name in ("__init__.py", "arithmetic.py", "public.py", "nets/__init__.py", "nets/a.py"):
        (book / name).write_text("x = 1\n")
    cached = Path(importlib.util.cache_from_source(str(book / "arithmetic.py")))
    cached.write_bytes(b"pyc")
    cached.with_name("arithmetic.cpython-39.opt-1.pyc").write_bytes(b"pyc")
    (book / "__pycache__" / cached.name.replace("arithmetic", "public")).write_bytes(b"pyc")
    return site, book, cached


def test_sealed_modules_are_covered_not_hidden_with_their_bytecode(tmp_path):
    site, book, cached = _site_with_reference(tmp_path)
    sealed = [str(book / "arithmetic.py"), str(book / "nets")]
    mounts = bwrap.plan_mounts(SandboxSettings(), [], (), sites=[str(site)], sealed=sealed)
    options = bwrap.bwrap_args(SandboxSettings(), mounts, {})
    assert (str(site), str(site)) in mounts.binds  # unlike a secret, its folder is bound
    nulled = [d for s, d in _pairs(options, "--ro-bind") if s == "/dev/null"]
    assert sorted(nulled) == sorted([str(book / "arithmetic.py"), str(cached),
                                     str(cached.with_name("arithmetic.cpython-39.opt-1.pyc"))])
    tmpfs = [options[i + 1] for i, a in enumerate(options) if a == "--tmpfs"]
    assert str(book / "nets") in tmpfs  # a sealed package: its whole folder
    assert not any(d.startswith(str(book / "nets") + "/") for d in nulled + tmpfs)
    assert options.index(str(book / "arithmetic.py")) > options.index(str(site))  # deeper after
    # a sealed path outside every bound folder is left alone
    elsewhere = bwrap.plan_mounts(SandboxSettings(), [], (), sites=[str(site)],
                                  sealed=[str(tmp_path / "other" / "x.py")])
    assert elsewhere.covers == []


def test_a_missing_bytecode_file_covers_the_whole_cache_folder(tmp_path):
    """The current interpreter's bytecode file, written after the sandbox starts, would be
    seen through the bound folder: its folder is covered whole instead."""
    site, book, cached = _site_with_reference(tmp_path)
    cached.unlink()
    mounts = bwrap.plan_mounts(SandboxSettings(), [], (), sites=[str(site)],
                               sealed=[str(book / "arithmetic.py")])
    assert sorted(d for _h, d in mounts.covers) == [str(book / "__pycache__"),
                                                     str(book / "arithmetic.py")]


def test_a_sealed_file_in_a_symlinked_folder_is_covered_at_both_paths(tmp_path):
    real = tmp_path / "real-src"
    real.mkdir()
    (real / "ref.py").write_text("x = 1\n")
    link = tmp_path / "src-link"
    os.symlink(real, link)
    mounts = bwrap.plan_mounts(SandboxSettings(expose=(str(link),)), [], (),
                               sealed=[str(link / "ref.py")])
    assert sorted(d for _h, d in mounts.covers) == sorted([str(link / "ref.py"),
                                                           str(real / "ref.py")])
