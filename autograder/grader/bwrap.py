"""The bubblewrap command line: which host paths a submission sees, and how.

Pure path logic (apart from :func:`check_available`, which runs bubblewrap once), so
it can be read and tested without a sandbox. :func:`bwrap_command`: read-only root, no
network (own network namespace), own PID/IPC/UTS namespaces, no capabilities, a
size-limited tmpfs at ``/tmp`` as the only writable place, and every secret path
(course folder, gradebook, hidden checks, the folder holding ``autograder/``) plus the
usual private folders (``/root``, ``/home``...) covered by empty read-only tmpfs; the
Python installation and the packages on ``sys.path`` that hold no secret are bound back
read-only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import SandboxUnavailable
from .settings import SandboxSettings

#: Private folders no submission needs to see (bound back where the Python lives).
PRIVATE_DIRS = ("/root", "/home", "/var/tmp", "/run", "/srv", "/mnt", "/media", "/opt",
                "/var/lib", "/var/log", "/var/spool", "/var/mail", "/var/backups",
                "/var/cache", "/etc/ssh", "/etc/ssl/private", "/boot", "/lost+found")
PRIVATE_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
                 "/etc/sudoers")
SCRATCH = "/tmp"
WORKDIR = "/tmp/work"


def sandbox_env() -> dict:
    env = {
        "HOME": WORKDIR, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/.matplotlib", "TMPDIR": SCRATCH,
    }
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # same numerics as the grader
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _real(p) -> str:
    return os.path.realpath(os.path.abspath(str(p)))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _pth_dirs() -> list:
    """Folders that ``.pth`` files in site-packages put on ``sys.path`` (editable
    installs such as ``cnnbook``'s ``src/``)."""
    import site

    out = []
    sites = list(site.getsitepackages()) + [site.getusersitepackages()]
    for sp in sites:
        try:
            names = [n for n in os.listdir(sp) if n.endswith(".pth")]
        except OSError:
            continue
        for name in names:
            try:
                lines = Path(sp, name).read_text(errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                line = line.strip()
                if line and not line.startswith(("#", "import ", "import\t")):
                    path = os.path.join(sp, line)
                    if os.path.isdir(path):
                        out.append(_real(path))
    return out


def _package_dirs(modules) -> list:
    """Folders of the named top-level packages, found without importing them."""
    import importlib.util

    out = []
    for name in {m.split(".")[0] for m in modules}:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        if spec.submodule_search_locations:
            out += [_real(p) for p in spec.submodule_search_locations]
        elif spec.origin and os.path.isfile(spec.origin):
            out.append(_real(spec.origin))
    return out


def python_paths(secrets, modules=()) -> list:
    """What the sandboxed Python needs, read-only: its installation, its virtual
    environment, folders added by ``.pth`` files and the folders of ``modules``;
    never a secret, a folder holding one, the scratch folder or ``/``."""
    out = [_real(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                              sys.base_exec_prefix, os.path.dirname(_real(sys.executable)))]
    out += _pth_dirs() + _package_dirs(modules)
    keep = []
    for p in sorted(set(out)):
        # A path under the scratch folder (a checkout in /tmp, say) is bound over the
        # fresh tmpfs; bubblewrap creates its mount point there.
        if p == "/" or p == SCRATCH or any(_inside(s, p) for s in secrets):
            continue
        keep.append(p)
    return keep


def bwrap_command(settings: SandboxSettings, secrets, ctl_fd: int, boot: str,
                  modules=()) -> list:
    """The bubblewrap argv that runs the zygote. ``secrets`` are host paths the
    submission must not see (missing ones are ignored); ``modules`` are packages it
    imports (their folders are bound read-only)."""
    secrets = sorted({_real(s) for s in secrets} | {os.path.abspath(str(s)) for s in secrets})
    exposes = python_paths(secrets, modules) + [_real(p) for p in settings.expose]
    hides = list(PRIVATE_DIRS) + [_real(p) for p in settings.hide]
    mb = 1 << 20
    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox",
            "--cap-drop", "ALL", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
            "--size", str(settings.scratch_mb * mb), "--perms", "1777", "--tmpfs", SCRATCH,
            "--size", str(64 * mb), "--perms", "1777", "--tmpfs", "/dev/shm"]
    plan: dict = {}
    for p in hides:
        plan[p] = "hide"
    for p in exposes:
        if plan.get(p) != "secret":
            plan[p] = "expose"
    for p in secrets:
        plan[p] = "secret"
    order = {"hide": 0, "expose": 1, "secret": 2}
    remount = []
    for path, kind in sorted(plan.items(), key=lambda kv: (kv[0].count("/"), order[kv[1]], kv[0])):
        if not os.path.lexists(path) or os.path.islink(path):
            continue
        fresh = any(_inside(path, r) for r in (SCRATCH, "/dev", "/proc"))
        if kind == "expose":
            if os.path.isdir(path) or os.path.isfile(path):
                args += ["--ro-bind", path, path]
        elif fresh and not any(_inside(path, e) for e in exposes):
            continue  # nothing of the host is visible there anyway
        elif os.path.isdir(path):
            args += ["--tmpfs", path]
            remount.append(path)
        else:
            args += ["--ro-bind", "/dev/null", path]
    for p in PRIVATE_FILES:
        if os.path.isfile(p) and not os.path.islink(p):
            args += ["--ro-bind", "/dev/null", p]
    for p in remount:
        args += ["--remount-ro", p]
    args += ["--clearenv"]
    for k, v in sandbox_env().items():
        args += ["--setenv", k, v]
    args += ["--chdir", SCRATCH, "--", sys.executable, "-P", "-s", "-c", boot, str(ctl_fd)]
    return args


def check_available(settings: SandboxSettings) -> None:
    """Fail fast, with bubblewrap's own words, when the sandbox cannot run here."""
    if settings.isolation != "bwrap":
        return
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap "
            "(or `make system`), or pass --isolation process (unsafe)")
    probe = subprocess.run(["bwrap", "--die-with-parent", "--unshare-net", "--unshare-pid",
                            "--cap-drop", "ALL", "--ro-bind", "/", "/", "--proc", "/proc",
                            "--dev", "/dev", "--", sys.executable, "-c", ""],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap cannot create a sandbox here: "
                                 f"{probe.stderr.strip()[-500:] or probe.returncode}")
