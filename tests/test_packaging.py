"""pyproject.toml against the code and the lock.

* Every third-party distribution a module of ``src/cnnbook`` imports (``import x``,
  ``from x import y``, or ``importlib.util.find_spec("x")``) is declared: a core
  dependency or an extra. Every distribution the core or a run-time extra declares is
  imported somewhere (no stale declaration).
* Every declared distribution is pinned in ``requirements.lock`` at a version its floor
  admits, so ``make setup`` installs what a ``pip install cnnbook[...]`` would accept.
* A wheel built from the sources holds every file of the package, the explorers' script
  and style included.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "cnnbook"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
#: Extras for development and the book: not imported by the package itself.
TOOL_EXTRAS = {"dev", "book"}


def _requirements(extra: str | None) -> list[Requirement]:
    project = PYPROJECT["project"]
    texts = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(t) for t in texts]


def _declared(extras) -> set[str]:
    """Distributions (canonical names) of the core and ``extras``, less cnnbook itself."""
    names = {canonicalize_name(r.name) for e in [None, *extras] for r in _requirements(e)}
    return names - {"cnnbook"}


def _imported_modules(path: Path) -> set[str]:
    """Top-level names of the modules ``path`` imports or looks up with ``find_spec``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "find_spec" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value.split(".")[0])
    return found


@functools.cache
def _third_party_imports() -> dict[str, set[str]]:
    """Distribution (canonical name) -> the package's files that import it."""
    owners = importlib.metadata.packages_distributions()
    by_dist: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for module in _imported_modules(path) - set(sys.stdlib_module_names) - {"cnnbook"}:
            dists = owners.get(module)
            assert dists, (f"{path.relative_to(ROOT)} imports {module!r}, which no installed "
                           "distribution provides")
            for dist in dists:
                by_dist.setdefault(canonicalize_name(dist), set()).add(
                    str(path.relative_to(PACKAGE)))
    return by_dist


def _lock() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_the_extras_the_package_promises_exist():
    assert {"torch", "viz", "widgets", "data", "dev"} <= set(
        PYPROJECT["project"]["optional-dependencies"])


def test_every_distribution_the_package_imports_is_declared():
    imported = _third_party_imports()
    assert {"numpy", "torch", "matplotlib", "ipywidgets", "scikit-learn"} <= set(imported)
    missing = {d: sorted(files) for d, files in imported.items()
               if d not in _declared(PYPROJECT["project"]["optional-dependencies"])}
    assert not missing, f"imported but declared neither as a dependency nor in an extra: {missing}"


def test_every_declared_run_time_distribution_is_imported():
    extras = set(PYPROJECT["project"]["optional-dependencies"]) - TOOL_EXTRAS
    stale = _declared(extras) - set(_third_party_imports())
    assert not stale, f"declared, but no module of src/cnnbook imports them: {sorted(stale)}"


@pytest.mark.parametrize("extra", [None, *PYPROJECT["project"]["optional-dependencies"]])
def test_every_declared_distribution_is_pinned_in_the_lock_within_its_floor(extra):
    pins = _lock()
    where = extra or "dependencies"
    for req in _requirements(extra):
        name = canonicalize_name(req.name)
        if name == "cnnbook":
            assert req.extras <= set(PYPROJECT["project"]["optional-dependencies"]), req
            continue
        assert name in pins, f"{req} ({where}) is not in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"requirements.lock pins {name}=={pins[name]}, outside {req} ({where})"


def test_a_built_wheel_holds_every_file_of_the_package(tmp_path):
    """The wheel is built from a copy of the sources, so nothing lands in the repository."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(PACKAGE, source / "src" / "cnnbook",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = (tmp_path / "dist").glob("cnnbook-*.whl")
    with zipfile.ZipFile(wheel) as z:
        packed = {n for n in z.namelist() if n.startswith("cnnbook/")}
    files = {"cnnbook/" + p.relative_to(source / "src" / "cnnbook").as_posix()
             for p in (source / "src" / "cnnbook").rglob("*") if p.is_file()}
    assert {"cnnbook/explorers/explorer.js", "cnnbook/explorers/explorer.css"} <= files
    assert files - packed == set(), f"left out of the wheel: {sorted(files - packed)}"
