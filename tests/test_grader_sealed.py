"""Sealed modules (autograder/grader/sealed.py): the reference's modules that define
forbidden code run in the sandbox, but their source cannot be read there, so no copy of
it can be edited until the guard no longer knows it.

First which modules an assignment seals, read from the files (a fake package, then every
manifest against the live objects); then, in a real sandbox, that no file a submission
can read holds their source while they still work, and that the attack this closes (copy
the package folder, edit each function, import the copy) gets no reference code."""

from __future__ import annotations

import importlib
import importlib.util
import marshal
import os
import pkgutil
import types
from pathlib import Path

import pytest

from autograder.assignments import all_manifests
from autograder.grader import bwrap, guards, sealed

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------
# which modules: read from the files
# ---------------------------------------------------------------------------

FAKE = {
    "__init__.py": "from .shapes import *\n",
    "arithmetic.py": ("import math\n\ndef conv_output_size(n, k):\n    return n - k + 1\n\n"
                      "def helper():\n    return 1\n\nclass Table:\n    def row(self):\n"
                      "        return 2\n"),
    "shapes.py": ("from .arithmetic import conv_output_size, helper as _h\nimport numpy as np\n"
                  "from numpy import sum as total\n\ndef summary():\n    return 3\n"),
    "numpy/__init__.py": "from . import conv\nfrom .conv import conv2d_forward\n",
    "numpy/conv.py": "def conv2d_forward(x):\n    return x\n",
    "numpy/pool.py": "def pool(x):\n    return x\n",
    "nets/__init__.py": "",
    "nets/a.py": "A = 1\n",
    "nets/sub/__init__.py": "",
    "nets/sub/b.py": "B = 2\n",
}


@pytest.fixture
def fake(tmp_path):
    """site/cnnbook: a package laid out as the book's is (re-exports, a star import, a
    subpackage imported by ``from . import``)."""
    pkg = tmp_path / "site" / "cnnbook"
    for name, text in FAKE.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    return pkg


@pytest.mark.parametrize("name,modules", [
    ("cnnbook.shapes.conv_output_size", ["cnnbook.arithmetic"]),  # re-exported: where defined
    ("cnnbook.shapes._h", ["cnnbook.arithmetic"]),                # re-exported under an alias
    ("cnnbook.conv_output_size", ["cnnbook.arithmetic"]),         # through a star import
    ("cnnbook.shapes.summary", ["cnnbook.shapes"]),
    ("cnnbook.arithmetic.Table.row", ["cnnbook.arithmetic"]),     # a method: its class's module
    ("cnnbook.numpy.conv", ["cnnbook.numpy.conv"]),       # a module its package imports
    ("cnnbook.numpy.conv2d_forward", ["cnnbook.numpy.conv"]),
    ("cnnbook.shapes.total", []), ("cnnbook.shapes.np", []),      # NumPy's, not the book's
    ("cnnbook.shapes.missing", []), ("cnnbook.missing", []),
    ("torch.conv2d", []), ("scipy.signal", []),
])
def test_the_module_that_defines_a_forbidden_name_is_sealed(fake, name, modules):
    found, folders = sealed.sealed_modules([name], str(fake))
    assert sorted(found) == modules and folders == []
    assert all(Path(p).is_file() and str(fake) in p for p in found.values())


def test_a_forbidden_package_seals_every_module_under_it(fake):
    found, folders = sealed.sealed_modules(["cnnbook.nets"], str(fake))
    assert sorted(found) == ["cnnbook.nets", "cnnbook.nets.a", "cnnbook.nets.sub",
                             "cnnbook.nets.sub.b"]
    assert found["cnnbook.nets.sub"] == str(fake / "nets" / "sub" / "__init__.py")
    assert folders == [str(fake / "nets")]


def _live(names) -> set:
    """The modules defining the forbidden ``cnnbook`` names, from the imported objects."""
    out = set()
    for dotted in names:
        parts = dotted.split(".")
        if parts[0] != "cnnbook":
            continue
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            continue  # a name the book no longer has
        if isinstance(obj, types.ModuleType):
            out.add(obj.__name__)
            if hasattr(obj, "__path__"):
                out |= {m.name for m in pkgutil.walk_packages(obj.__path__, obj.__name__ + ".")}
        else:
            out.add(obj.__module__)
    return out


def test_every_manifest_seals_what_its_forbidden_objects_are_defined_in():
    import cnnbook

    here = os.path.dirname(cnnbook.__file__)
    for assignment, manifest in all_manifests().items():
        found, _ = sealed.sealed_modules(manifest.FORBIDDEN, here)
        assert set(found) == _live(manifest.FORBIDDEN), assignment
        assert found, assignment


def test_the_code_sent_is_the_reference_compiled_where_the_sandbox_imports_it(fake):
    site = fake.parent
    got = sealed.seal(["cnnbook.shapes.summary", "cnnbook.nets", "torch.conv2d"], [str(site)])
    assert sorted(got.code) == ["cnnbook.nets", "cnnbook.nets.a", "cnnbook.nets.sub",
                                "cnnbook.nets.sub.b", "cnnbook.shapes"]
    path, code, is_package = got.code["cnnbook.shapes"]
    assert path == str(fake / "shapes.py") and not is_package
    assert got.code["cnnbook.nets.sub"][2] is True
    assert marshal.loads(code).co_filename == path
    assert str(fake / "shapes.py") in got.paths and str(fake / "nets") in got.paths
    assert not any(p.startswith(str(fake / "nets") + "/") for p in got.paths)
    assert not sealed.seal(["torch.conv2d", "scipy.signal"], [str(site)])


def test_the_sealed_reference_has_the_fingerprints_of_the_imported_one():
    got = sealed.seal(["cnnbook.shapes.conv_output_size"], bwrap.import_path())
    path, code, _ = got.code["cnnbook.arithmetic"]
    ns: dict = {"__name__": "cnnbook.arithmetic"}
    exec(marshal.loads(code), ns)
    fn = ns["conv_output_size"]
    spec = importlib.util.spec_from_file_location("_imported_reference", path)
    imported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(imported)
    assert fn.__code__.co_filename == imported.conv_output_size.__code__.co_filename == path
    assert guards.fingerprint(fn.__code__) == guards.fingerprint(
        imported.conv_output_size.__code__)
    assert fn(32, 5) == 28 and path in got.paths


# ---------------------------------------------------------------------------
# in a real sandbox
# ---------------------------------------------------------------------------

#: Reads every file a submission can reach under the import path (the places a copy of
#: the book's source would be looked for) and names those that hold one of LINES, and the
#: readable bytecode files of the sealed modules (CACHED: their paths' endings; bytecode
#: and shared libraries hold no source lines, so their content is not searched); then
#: checks each sealed module: imported, working, but with no source to find.
SCAN = r'''
import importlib, inspect, os, sys
LINES = {lines!r}
CONTROL = {control!r}
CACHED = {cached!r}
seen, hits, control_found, read = set(), [], False, 0
for top in [p for p in sys.path if os.path.isdir(p)]:
    for root, dirs, files in os.walk(top):
        if root.startswith(("/proc", "/sys", "/dev")):
            dirs[:] = []
            continue
        for name in files:
            path = os.path.realpath(os.path.join(root, name))
            if path in seen:
                continue
            seen.add(path)
            binary = name.endswith(".pyc") or ".so" in name
            try:
                if binary:
                    if any(c in path for c in CACHED):
                        with open(path, "rb") as f:
                            hits.append((path, f.read(16)))
                    continue
                if os.path.getsize(path) > 1 << 20:
                    continue
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            read += 1
            hits += [(path, line) for line in LINES if b"def " not in line and line in data]
            if b"def " not in data:
                continue
            control_found = control_found or CONTROL in data
            hits += [(path, line) for line in LINES if b"def " in line and line in data]
modules = {{}}
for name in {modules!r}:
    m = sys.modules.get(name)
    functions = [v for v in vars(m).values() if inspect.isfunction(v)
                 and v.__module__ == name] if m else []
    try:
        inspect.getsource(functions[0] if functions else m)
        source = True
    except (OSError, TypeError):
        source = False
    modules[name] = (m is not None, len(functions), source)
probe = {probe!r}
old = sys.modules.pop(probe)
try:
    fresh = importlib.import_module(probe)
    fresh = sorted(k for k, v in vars(fresh).items() if inspect.isfunction(v))
except ImportError as exc:
    fresh = type(exc).__name__
sys.modules[probe] = old
result = (hits, control_found, read, modules, fresh)
'''


def _line(path: str, others) -> bytes:
    """The longest ``def`` line of ``path`` that no file of ``others`` holds, else its
    longest such line."""
    lines = {ln.strip() for ln in Path(path).read_text().splitlines()}
    ranked = sorted(lines, key=lambda ln: (ln.startswith("def "), len(ln)), reverse=True)
    texts = [Path(o).read_bytes() for o in others]
    return next(ln.encode() for ln in ranked if not any(ln.encode() in t for t in texts))


@pytest.fixture(scope="module")
def sandbox():
    from autograder.grader.processes import Zygote
    from autograder.grader.settings import SandboxSettings

    def start(manifest):
        forbidden = tuple(manifest.FORBIDDEN)
        warm = ("numpy", *dict.fromkeys(f.rsplit(".", 1)[0] for f in forbidden
                                        if f.startswith("cnnbook.")))
        return Zygote(SandboxSettings(memory_mb=1024), warm, forbidden,
                      (str(REPO), str(REPO / "autograder")),
                      tuple(manifest.FORBIDDEN_OPS)).start()
    return start


@pytest.mark.slow
@pytest.mark.parametrize("assignment", sorted(all_manifests()))
def test_no_file_in_the_sandbox_holds_a_sealed_modules_source(sandbox, assignment):
    manifest = all_manifests()[assignment]
    z = sandbox(manifest)
    try:
        assert z.info["failed_imports"] == [] and z.sealed.code and z.sealed.paths
        files = [p for p in z.sealed.paths if p.endswith(".py")]
        others = [str(p) for f in files for p in Path(f).parents[0].glob("*.py")
                  if str(p) not in files]
        lines = sorted({_line(f, others) for f in files})
        assert len(lines) >= len(set(z.sealed.code))
        served = sealed.package_copies("cnnbook", bwrap.import_path())[0]
        control = _line(os.path.join(served, "viz.py"), files)  # never sealed
        modules = sorted(z.sealed.code)
        p = z.spawn()
        try:
            cached = sorted({os.path.join(os.path.dirname(f), "__pycache__",
                                          os.path.basename(f)[:-3] + ".") for f in files})
            src = SCAN.format(lines=lines, control=control, modules=modules, probe=modules[0],
                              cached=cached)
            run = p.exec_cell(src, "cell 1", 300, cpu=300)
            assert run.ok, (run.error, run.fault)
            hits, control_found, read, found, fresh = p.lookup(["result"])["result"]
        finally:
            p.close()
    finally:
        z.close()
    assert read > 1000 and control_found  # the scan reads the book's other modules
    assert hits == []
    for name, (imported, _functions, source) in found.items():
        assert imported and not source, name
    assert sum(n for _i, n, _s in found.values()) > 0
    assert fresh in ("ModuleNotFoundError", []), fresh  # a fresh import: no reference


#: The attack sealing closes: copy the package folder (what can be read of it), insert a
#: statement at the start of every function, import the edited copy instead.
EDITED_COPY = r'''
import ast, importlib, importlib.util, os, shutil, sys
src = importlib.util.find_spec("cnnbook").submodule_search_locations[0]
dest = "/tmp/copy/cnnbook"
unreadable = []
for root, dirs, files in os.walk(src):
    os.makedirs(os.path.join(dest, os.path.relpath(root, src)), exist_ok=True)
    for name in files:
        if not name.endswith(".py"):
            continue
        try:
            with open(os.path.join(root, name)) as f:
                text = f.read()
        except OSError:
            unreadable.append(name)
            continue
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                node.body.insert(0, ast.parse("_nop_ = 12345").body[0])
        with open(os.path.join(dest, os.path.relpath(root, src), name), "w") as f:
            f.write(ast.unparse(tree))
sys.path.insert(0, "/tmp/copy")
for name in [m for m in sys.modules if m == "cnnbook" or m.startswith("cnnbook.")]:
    del sys.modules[name]
import cnnbook.spec
copied = cnnbook.spec.__file__
try:
    from cnnbook.arithmetic import conv_output_size
    got = conv_output_size(32, 5)
except Exception as exc:
    got = type(exc).__name__
result = (sorted(unreadable), copied, got)
'''


def test_an_edited_copy_of_the_package_has_no_reference_in_it():
    from autograder.grader.processes import Zygote
    from autograder.grader.settings import SandboxSettings

    z = Zygote(SandboxSettings(memory_mb=512), ("numpy", "cnnbook.shapes"),
               ("cnnbook.shapes.conv_output_size",), (str(REPO), str(REPO / "autograder"))).start()
    try:
        p = z.spawn()
        run = p.exec_cell(EDITED_COPY, "cell 1", 60)
        assert run.ok, (run.error, run.fault)
        unreadable, copied, got = p.lookup(["result"])["result"]
        p.close()
    finally:
        z.close()
    assert copied == "/tmp/copy/cnnbook/spec.py"  # the copy is what was imported
    assert unreadable == ["arithmetic.py"] and got == "ModuleNotFoundError"


#: Keeps the reference, then empties ``sys.modules`` of the book: a guard resolved anew in
#: this process would import the sealed module again and find nothing to fingerprint.
KEPT_REFERENCE = r'''
import sys
import cnnbook.shapes
kept = cnnbook.shapes.conv_output_size
for name in [m for m in sys.modules if m == "cnnbook" or m.startswith("cnnbook.")]:
    del sys.modules[name]

def mine(n):
    return kept(n, 3)
'''


def test_a_guard_for_one_check_knows_the_reference_the_submission_kept():
    """A check that forbids more operators than the manifest arms a guard the zygote did
    not build: it is made from the zygote's, resolved before any submission ran."""
    from autograder.grader.processes import Zygote
    from autograder.grader.settings import SandboxSettings

    name = "cnnbook.shapes.conv_output_size"
    z = Zygote(SandboxSettings(memory_mb=512), ("numpy",), (name,),
               (str(REPO), str(REPO / "autograder"))).start()
    try:
        p = z.spawn()
        assert p.exec_cell(KEPT_REFERENCE, "cell 1", 30).ok
        mine = p.lookup(["mine"])["mine"]
        with guards.watch(guards.Forbidden([name], ["aten::mm"]), remote=True) as hits:
            assert mine(5) == 3
        p.close()
    finally:
        z.close()
    assert hits == [name]
