"""The bubblewrap command line: which host paths a submission sees, and how.

An allow-list. The sandbox's root is an empty read-only tmpfs into which exactly these
are bound read-only:

* the system's shared libraries (``/usr/lib``, ``/usr/lib64`` and the ``/lib`` links);
* the Python runtime: the virtual environment, the base installation, every link on the
  way to the interpreter, folders added by ``.pth`` files (editable installs such as
  ``cnnbook``'s ``src/``) and the folders of the warmed modules, each at its real path
  and (for a path reached through a symlink, a common way to share a venv on a course
  machine) at the path the grader used too;
* what :attr:`SandboxSettings.expose` adds;

plus a fresh, size-capped ``/tmp`` (the scratch space; the copy of the student's folder
is written into it), a minimal read-only ``/dev`` with a size-capped ``/dev/shm``, a
read-only ``/proc`` of the sandbox's own PID namespace, and a few synthetic ``/etc``
files. Nothing else of the host exists inside: no other checkout of the course, no
home, no project folder. A secret (the course, its checks, the gradebook...) that lies
inside a bound folder is covered by an empty read-only tmpfs. So is the source of the
reference modules the assignment seals (:mod:`.sealed`): their files and cached
bytecode cannot be read (``/dev/null`` is bound over each), a sealed package's folder
is empty, though the folders holding them are bound.

The command line itself travels through a file descriptor (``--args``), so
``/proc/1/cmdline`` inside shows neither the bound nor the hidden host paths, and
bubblewrap runs with an empty environment. The module is pure path logic (apart from
:func:`check_available`): it can be read and tested without a sandbox.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SandboxUnavailable
from .settings import SandboxSettings

SCRATCH = "/tmp"
WORKDIR = "/tmp/work"
SHM = "/dev/shm"
#: The only places a submission may write; both are size-capped tmpfs, wiped between
#: students.
WRITABLE = (SCRATCH, SHM)
#: The system's shared libraries (bound when they are folders, recreated when links).
SYSTEM_LIBS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32",
               "/lib", "/lib64", "/lib32", "/libx32")
#: Host files copied in as they are (they only describe the machine).
SYSTEM_FILES = ("/etc/ld.so.cache",)

#: Read by the sandboxed Python on its way in: a small program that reads the real boot
#: source from the control socket (so no command line carries it).
BOOTSTRAP = (
    "import socket,sys\n"
    "s=socket.socket(fileno=int(sys.argv[1]))\n"
    "n=int.from_bytes(s.recv(8,socket.MSG_WAITALL),'big')\n"
    "b=bytearray()\n"
    "while len(b)<n:\n"
    " c=s.recv(min(n-len(b),1<<20))\n"
    " if not c:raise SystemExit(3)\n"
    " b+=c\n"
    "exec(compile(bytes(b),'<sandbox>','exec'),{'__name__':'_ag_boot','_ag_ctl':s})\n"
)


def sandbox_env() -> dict:
    env = {
        "HOME": WORKDIR, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "OMP_THREAD_LIMIT": "1", "NUMEXPR_NUM_THREADS": "1",
        "VECLIB_MAXIMUM_THREADS": "1",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/.matplotlib", "TMPDIR": SCRATCH,
        "USER": "sandbox", "LOGNAME": "sandbox", "TZ": "UTC",
    }
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # same numerics as the grader
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def etc_files(uid: int | None = None, gid: int | None = None) -> dict:
    """Synthetic ``/etc`` files (path -> bytes): one user, one group, no host names."""
    uid = os.getuid() if uid is None else uid
    gid = os.getgid() if gid is None else gid
    return {
        "/etc/passwd": f"sandbox:x:{uid}:{gid}:sandbox:{WORKDIR}:/usr/sbin/nologin\n".encode(),
        "/etc/group": f"sandbox:x:{gid}:\n".encode(),
        "/etc/nsswitch.conf": b"passwd: files\ngroup: files\nhosts: files\n",
        "/etc/hosts": b"127.0.0.1 localhost\n::1 localhost\n",
        "/etc/hostname": b"sandbox\n",
    }


def _real(p) -> str:
    return os.path.realpath(os.path.abspath(str(p)))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


# ---------------------------------------------------------------------------
# what the sandboxed Python needs
# ---------------------------------------------------------------------------

def python_executable(executable: str | None = None) -> str:
    """The interpreter path to run inside: the grader's own, with its folder resolved.

    A virtual environment reached through a symlink (``/course/.venv -> /srv/venvs/x``)
    is then found at its real place (``pyvenv.cfg`` is looked for beside the path the
    interpreter was started as, so the file name itself is kept, not resolved)."""
    executable = os.path.abspath(executable or sys.executable)
    return os.path.join(_real(os.path.dirname(executable)), os.path.basename(executable))


def link_chain(path: str) -> list:
    """``[(link path, target)]`` for every symlink met on the way from ``path`` to its
    file (folders resolved), ending with ``(file, None)``."""
    out, seen = [], set()
    p = os.path.join(_real(os.path.dirname(path)), os.path.basename(path))
    while os.path.islink(p) and p not in seen and len(seen) < 40:
        seen.add(p)
        target = os.readlink(p)
        out.append((p, target))
        nxt = target if os.path.isabs(target) else os.path.join(os.path.dirname(p), target)
        p = os.path.join(_real(os.path.dirname(nxt)), os.path.basename(nxt))
    out.append((p, None))
    return out


def _pth_dirs(sites) -> list:
    """``(as written, real)`` folders that ``.pth`` files in site-packages put on ``sys.path``."""
    out = []
    for sp in sites:
        try:
            names = [n for n in os.listdir(sp) if n.endswith(".pth")]
        except OSError:
            continue
        for name in sorted(names):
            try:
                lines = Path(sp, name).read_text(errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                line = line.strip()
                if line and not line.startswith(("#", "import ", "import\t")):
                    path = os.path.normpath(os.path.join(sp, line))
                    if os.path.isdir(path):
                        out.append(path)
    return out


def import_path(sites=None) -> list:
    """The folders the sandboxed Python imports third-party packages from, in its order:
    each site-packages folder, then the folders its ``.pth`` files add (no
    ``PYTHONPATH``, no user site inside)."""
    out = []
    for sp in (sites if sites is not None else _site_packages()):
        for p in [sp, *_pth_dirs([sp])]:
            if p not in out:
                out.append(p)
    return out


def _bytecode(path: str) -> tuple:
    """``(cached bytecode files of the source file path, the folder holding them or None
    when the current interpreter's is missing there)``: a missing one could be written
    later and be seen through the bound folder, so the whole folder is covered then."""
    import importlib.util

    folder = os.path.join(os.path.dirname(path), "__pycache__")
    stem = os.path.basename(path)[:-3] + "."
    try:
        names = sorted(n for n in os.listdir(folder) if n.startswith(stem) and n.endswith(".pyc"))
    except OSError:
        return [], None
    if os.path.basename(importlib.util.cache_from_source(path)) not in names:
        return [], folder
    return [os.path.join(folder, n) for n in names], None


def _package_dirs(modules) -> list:
    """Folders of the named top-level packages, found without importing them."""
    import importlib.util

    out = []
    for name in sorted({m.split(".")[0] for m in modules}):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        if spec.submodule_search_locations:
            out += [os.path.abspath(p) for p in spec.submodule_search_locations]
        elif spec.origin and os.path.isfile(spec.origin):
            out.append(os.path.abspath(spec.origin))
    return out


def _site_packages() -> list:
    import site

    sites = list(site.getsitepackages())
    try:
        sites.append(site.getusersitepackages())
    except AttributeError:
        pass
    return [os.path.abspath(s) for s in sites]


@dataclass
class Mounts:
    """What the sandbox binds: ``binds`` are ``(host source, path inside)`` pairs (read
    only), ``links`` are ``(target, path inside)`` symlinks, ``covers`` are secret or
    sealed paths inside a bound folder, hidden again (``(host path, path inside)``: a
    folder by an empty tmpfs, a file by ``/dev/null``)."""

    binds: list = field(default_factory=list)
    links: list = field(default_factory=list)
    covers: list = field(default_factory=list)

    def bind(self, src: str, dest: str | None = None) -> None:
        pair = (src, dest or src)
        if pair not in self.binds:
            self.binds.append(pair)

    def bound(self, path: str) -> bool:
        return any(_inside(path, dest) for _src, dest in self.binds)


def plan_mounts(settings: SandboxSettings, secrets=(), modules=(), executable=None,
                sites=None, sealed=()) -> Mounts:
    """The allow-list for a sandbox that runs ``executable`` (default: this interpreter)
    and imports ``modules``; ``secrets`` are host paths it must never see (missing ones
    are ignored). Every host path is resolved: a folder reached through symlinks is bound
    at its real path and at the path the grader knows it by. ``sealed`` are host paths
    of reference modules (:mod:`.sealed`): source files, covered with their cached
    bytecode, and package folders, covered whole; unlike a secret, the folder holding one
    is bound all the same."""
    secrets = sorted({_real(s) for s in secrets} | {os.path.abspath(str(s)) for s in secrets})
    hidden = secrets + [_real(p) for p in settings.hide]

    def holds_secret(path: str) -> bool:
        return any(_inside(s, path) for s in hidden)

    def in_secret(path: str) -> bool:
        return any(_inside(path, s) for s in hidden)

    m = Mounts()
    for p in SYSTEM_LIBS:
        if os.path.islink(p):
            m.links.append((os.readlink(p), p))
        elif os.path.isdir(p):
            m.bind(p)
    for p in SYSTEM_FILES:
        if os.path.isfile(p):
            m.bind(_real(p), p)

    def add(path: str, cover: bool = False) -> None:
        """Bind a folder or file the runtime needs, if it holds no secret (``cover``: bind
        it all the same, the secrets inside covered; for what the instructor exposes)."""
        path = os.path.abspath(path)
        real = _real(path)
        if real in ("/", SCRATCH) or not os.path.exists(real):
            return
        if holds_secret(real) and not cover:
            return
        if any(_inside(real, p) for p in ("/proc", "/dev", "/sys")):
            return
        if not m.bound(real):
            m.bind(real)
        if path != real and not m.bound(path) and not in_secret(path) \
                and (cover or not holds_secret(path)):
            m.bind(real, path)

    exe = executable or sys.executable
    prefixes = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    for prefix in sorted(prefixes):
        real = _real(prefix)
        if real in ("/", "/usr"):
            continue  # a system Python: its library is under /usr/lib, bound above
        if holds_secret(real):  # e.g. /usr/local holding the course: its libraries only
            for sub in ("lib", "lib64"):
                add(os.path.join(prefix, sub))
        else:
            add(prefix)
    for link, target in link_chain(python_executable(exe)):
        if target is None:
            add(link)
        elif not m.bound(link):
            m.links.append((target, link))
    for p in (sites if sites is not None else _site_packages()):
        add(p)
    for p in _pth_dirs(sites if sites is not None else _site_packages()):
        add(p)
    for p in _package_dirs(modules):
        add(p)
    for p in settings.expose:
        add(str(p), cover=True)
    # secrets inside a bound folder (a checks folder beside an exposed one, say)
    for real_src, dest in list(m.binds):
        for s in hidden:
            if s != real_src and _inside(s, real_src) and os.path.lexists(s):
                cover = (s, dest + s[len(real_src):])
                if cover not in m.covers:
                    m.covers.append(cover)
    # the reference's sealed modules: their files, their bytecode, their package folders
    sealed_paths = []
    for p in sealed:
        real = _real(p)
        if os.path.isdir(real):
            sealed_paths.append(real)
        elif os.path.isfile(real):
            files, folder = _bytecode(real)
            sealed_paths += [real, *([folder] if folder else files)]
    for real_src, dest in list(m.binds):
        for s in sealed_paths:
            cover = (s, dest + s[len(real_src):])
            if _inside(s, real_src) and cover not in m.covers:
                m.covers.append(cover)
    # nothing can be mounted inside a folder that is covered whole
    emptied = [d for h, d in m.covers if os.path.isdir(h) and not os.path.islink(h)]
    m.covers = [(h, d) for h, d in m.covers
                if not any(_inside(d, e) and d != e for e in emptied)]
    return m


def _depth(path: str) -> tuple:
    return (path.rstrip("/").count("/"), path)


def bwrap_args(settings: SandboxSettings, mounts: Mounts, data_fds: dict) -> list:
    """bubblewrap's options (they travel through ``--args``): namespaces, the mounts of
    :func:`plan_mounts`, the synthetic files (``data_fds``: path inside -> file
    descriptor holding its bytes), the scratch spaces, the environment."""
    mb = 1 << 20
    args = ["--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox",
            "--cap-drop", "ALL"]
    # fresh file systems first, then the host's folders (some may lie under /tmp)
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(settings.shm_mb * mb), "--perms", "1777", "--tmpfs", SHM,
             "--size", str(settings.scratch_mb * mb), "--perms", "1777", "--tmpfs", SCRATCH]
    entries = []
    for src, dest in mounts.binds:
        entries.append((_depth(dest), 0, ["--ro-bind", src, dest]))
    for target, dest in mounts.links:
        entries.append((_depth(dest), 0, ["--symlink", target, dest]))
    for dest, fd in data_fds.items():
        entries.append((_depth(dest), 1, ["--perms", "0444", "--ro-bind-data", str(fd), dest]))
    for host, dest in mounts.covers:
        if os.path.isdir(host) and not os.path.islink(host):
            entries.append((_depth(dest), 2, ["--perms", "0555", "--tmpfs", dest,
                                              "--remount-ro", dest]))
        else:
            entries.append((_depth(dest), 2, ["--ro-bind", "/dev/null", dest]))
    for _key, _order, part in sorted(entries, key=lambda e: (e[0], e[1])):
        args += part
    args += ["--remount-ro", "/dev", "--remount-ro", "/proc", "--remount-ro", "/"]
    args += ["--clearenv"]
    for k, v in sandbox_env().items():
        args += ["--setenv", k, v]
    args += ["--chdir", SCRATCH]
    return args


def bwrap_command(settings: SandboxSettings, secrets, ctl_fd: int, args_fd: int,
                  data_fds: dict | None = None, modules=(), executable=None,
                  sealed=()) -> tuple:
    """``(argv, options)``: the short command line that starts bubblewrap (its options
    are read from ``args_fd``, which must hold ``options`` NUL-separated) and the options.
    ``secrets`` are host paths the submission must not see; ``modules`` are packages it
    imports (their folders are bound read-only); ``data_fds`` maps the synthetic files of
    :func:`etc_files` to descriptors holding their bytes; ``sealed`` are the reference's
    files and folders to cover (:func:`plan_mounts`)."""
    mounts = plan_mounts(settings, secrets, modules, executable, sealed=sealed)
    options = bwrap_args(settings, mounts, dict(data_fds or {}))
    bwrap = shutil.which("bwrap") or "bwrap"
    argv = [bwrap, "--args", str(int(args_fd)), "--",
            python_executable(executable), "-P", "-s", "-c", BOOTSTRAP, str(int(ctl_fd))]
    return argv, options


def encode_args(options) -> bytes:
    for a in options:
        if "\0" in a:
            raise ValueError(f"a bubblewrap argument contains a NUL byte: {a[:80]!r}")
    return b"".join(a.encode() + b"\0" for a in options)


def check_available(settings: SandboxSettings) -> None:
    """Fail fast, with bubblewrap's own words, when the sandbox cannot run here."""
    if settings.isolation != "bwrap":
        return
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap "
            "(or `make system`), or pass --isolation process (unsafe)")
    mounts = plan_mounts(settings)
    options = [a for a in bwrap_args(settings, mounts, {})]
    probe = subprocess.run([shutil.which("bwrap"), *options, "--",
                            python_executable(), "-P", "-s", "-c", ""],
                           capture_output=True, text=True, timeout=60, env={})
    if probe.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap cannot create a sandbox here: "
                                 f"{probe.stderr.strip()[-500:] or probe.returncode}")
