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
