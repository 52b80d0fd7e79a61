"""Sealed modules: the reference runs in the sandbox, but its source cannot be read there.

Threat model. A submission may not call the book's reference implementation of what
it must write (the manifest's ``FORBIDDEN``). The guard (:mod:`.guards`) catches a
call to a forbidden function or to a copy with the same code, but a program that can
read the reference's source inside the sandbox can make a copy whose code differs: it
copies the package folder into ``/tmp``, inserts a statement at the start of each
function, and imports the edited copy. Nothing the guard fingerprints is called, and
the copy computes what the reference computes. So no module that defines forbidden
code may be readable inside the sandbox:

* :func:`sealed_modules` finds those modules from the forbidden names, without
  importing anything: a forbidden module (every module under it, for a package), and
  the module that defines a forbidden function or class, which may not be the one that
  re-exports it (``cnnbook.shapes.conv_output_size`` is defined in
  ``cnnbook.arithmetic``). Only the book's own package (:data:`PACKAGES`) is sealed,
  never torch, SciPy or NumPy: their source is public and not the exercise;
* the mounts (:func:`.bwrap.plan_mounts`) cover those files in every copy of the
  package the sandbox can see, with their cached bytecode (a sealed package: its whole
  folder);
* the grader compiles them (:func:`seal`: the file name is the path the sandbox
  imports them from, so tracebacks and the guard's fingerprints are unchanged) and
  sends the code, never the text, to the zygote, which imports each once and then
  drops the code it was given. A student process, forked from the zygote, holds them
  only as live module objects: a reload, or a fresh import, finds no module.

What sealing does not do: a live function's code can still be read and rebuilt
(``fn.__code__``, which the guard's fingerprints and the review scan answer), and the
``--isolation process`` mode (no bubblewrap) seals nothing.
"""

from __future__ import annotations

import ast
import importlib.util
import marshal
import os
from dataclasses import dataclass

#: The packages whose modules are sealed when they define forbidden code.
PACKAGES = ("cnnbook",)


@dataclass(frozen=True)
class Sealed:
    """What one sandbox seals. ``code``: module name -> ``(path inside the sandbox,
    marshalled code, is a package)``, the modules the zygote imports from the grader;
    ``paths``: host files (and folders, for a sealed package) the mounts cover."""

    code: dict
    paths: tuple

    def __bool__(self) -> bool:
        return bool(self.code or self.paths)


# ---------------------------------------------------------------------------
# which modules define forbidden code (read from the files, nothing imported)
# ---------------------------------------------------------------------------

def _module_file(package_dir: str, name: str):
    """``(file, is a package)`` of the dotted module ``name`` in this copy of its
    top-level package, or None."""
    parts = name.split(".")[1:]
    base = os.path.join(package_dir, *parts)
    init = os.path.join(base, "__init__.py")
    if os.path.isfile(init):
        return init, True
    if parts and os.path.isfile(base + ".py"):
        return base + ".py", False
    return None


_TREES: dict = {}


def _tree(path: str):
    try:
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        if key not in _TREES:
            with open(path, "rb") as fh:
                _TREES[key] = ast.parse(fh.read(), path)
        return _TREES[key]
    except (OSError, SyntaxError, ValueError):
        return None


def _statements(body):
    """The module's statements, those of its ``if``/``try``/``with``/loop bodies too."""
    for node in body:
        yield node
        for name in ("body", "orelse", "finalbody"):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield from _statements(getattr(node, name, None) or [])
        for handler in getattr(node, "handlers", None) or []:
            yield from _statements(handler.body)


def _targets(node) -> list:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for elt in node.elts for n in _targets(elt)]
    if isinstance(node, ast.Starred):
        return _targets(node.value)
    return []


def _absolute(module: str, is_package: bool, level: int, target) -> str:
    if not level:
        return target or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[:len(parts) - (level - 1)] if level > 1 else parts
    return ".".join(parts + ([target] if target else []))


def _binding(package_dir: str, module: str, attr: str, seen=frozenset()):
    """What the last top-level statement of ``module`` that binds ``attr`` binds it to:
    ``("here",)``, ``("module", name)`` or ``("from", module, name)``; None if none."""
    if module in seen:
        return None
    seen = seen | {module}
    found = _module_file(package_dir, module)
    tree = _tree(found[0]) if found else None
    if tree is None:
        return None
    top = module.split(".")[0]
    last = None
    for node in _statements(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == attr:
                last = ("here",)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(attr in _targets(t) for t in targets):
                last = ("here",)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if (alias.asname or alias.name.split(".")[0]) == attr:
                    last = ("module", alias.name if alias.asname else attr)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, found[1], node.level, node.module)
            if base.split(".")[0] != top:
                if any((a.asname or a.name) == attr for a in node.names):
                    last = None  # another package's
                continue
            for alias in node.names:
                if alias.name == "*":
                    if _binding(package_dir, base, attr, seen) is not None:
                        last = ("from", base, attr)
                elif (alias.asname or alias.name) == attr:
                    last = ("from", base, alias.name)
    return last


def _resolve(package_dir: str, module: str, attr: str, depth: int = 0):
    """``(module name, whether attr IS that module)``: where ``module.attr`` is
    defined, following re-exports; None when it is not found."""
    if depth > 20:
        return None
    how = _binding(package_dir, module, attr)
    if how is None:
        sub = f"{module}.{attr}"
        return (sub, True) if _module_file(package_dir, sub) else None
    if how[0] == "here":
        return module, False
    if how[0] == "module":
        top = module.split(".")[0]
        name = how[1]
        if name.split(".")[0] != top or not _module_file(package_dir, name):
            return None
        return name, True
    _, base, name = how
    if _module_file(package_dir, f"{base}.{name}") and \
            _binding(package_dir, base, name) in (None, how):  # from . import conv
        return f"{base}.{name}", True
    return _resolve(package_dir, base, name, depth + 1)


def _package_modules(package_dir: str, name: str) -> dict:
    """Every module of the package ``name`` (itself included): name -> file."""
    folder = os.path.dirname(_module_file(package_dir, name)[0])
    out = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if os.path.isfile(os.path.join(root, d, "__init__.py")))
        rel = os.path.relpath(root, folder)
        prefix = name if rel == "." else name + "." + rel.replace(os.sep, ".")
        for f in sorted(files):
            if f.endswith(".py"):
                out[prefix if f == "__init__.py" else f"{prefix}.{f[:-3]}"] = \
                    os.path.join(root, f)
    return out


def sealed_modules(forbidden, package_dir: str) -> tuple:
    """``(modules, folders)`` that ``forbidden`` seals in ``package_dir`` (a copy of one
    of :data:`PACKAGES`): ``{module name: its file}`` of every module defining forbidden
    code, and the folders of the packages forbidden whole (covered entirely)."""
    package = os.path.basename(os.path.normpath(package_dir))
    modules, folders = {}, []
    for dotted in forbidden:
        parts = str(dotted).split(".")
        if parts[0] != package:
            continue
        cut = next((c for c in range(len(parts), 0, -1)
                    if _module_file(package_dir, ".".join(parts[:c]))), 0)
        if not cut:
            continue
        module, whole = ".".join(parts[:cut]), True
        for attr in parts[cut:]:
            if not whole:
                break  # a member of a class or function: defined where it is
            found = _resolve(package_dir, module, attr)
            if found is None:
                module = None
                break
            module, whole = found
        if module is None:
            continue
        path, is_package = _module_file(package_dir, module)
        if whole and is_package:
            modules.update(_package_modules(package_dir, module))
            folders.append(os.path.dirname(path))
        else:
            modules[module] = path
    return modules, sorted(set(folders))


# ---------------------------------------------------------------------------
# what one sandbox seals
# ---------------------------------------------------------------------------

def package_copies(package: str, search_path) -> list:
    """The folders of ``package`` found on ``search_path``, first (the one imported) first."""
    out = []
    for entry in search_path:
        folder = os.path.join(entry, package)
        if os.path.isfile(os.path.join(folder, "__init__.py")) and folder not in out:
            out.append(folder)
    return out


_CODE: dict = {}


def _compiled(path: str) -> bytes:
    """``path`` compiled as the sandbox's Python would (no optimization, no future flags
    of this module), marshalled; cached while the file is unchanged."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    code = _CODE.get(key)
    if code is None:
        with open(path, "rb") as fh:
            source = fh.read()
        code = _CODE[key] = marshal.dumps(compile(source, path, "exec", dont_inherit=True,
                                                  optimize=0))
    return code


def seal(forbidden, search_path) -> Sealed:
    """What a sandbox whose Python imports from ``search_path`` (its ``sys.path``, in
    order) seals for ``forbidden``: the code of each sealed module from the copy it would
    import, and the files to cover in every copy it can see (those on its path and the
    grader's own). Raises OSError or SyntaxError when a sealed file cannot be compiled."""
    code, paths = {}, []
    for package in PACKAGES:
        if not any(str(n).split(".")[0] == package for n in forbidden):
            continue
        copies = package_copies(package, search_path)
        served = copies[0] if copies else None
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        for folder in (spec.submodule_search_locations or []) if spec else []:
            folder = os.path.abspath(folder)
            if folder not in copies:
                copies.append(folder)
        for folder in copies:
            modules, folders = sealed_modules(forbidden, folder)
            if folder == served:
                for name, path in modules.items():
                    code[name] = (path, _compiled(path), path.endswith("__init__.py"))
            paths += folders
            paths += [p for p in modules.values()
                      if not any(p.startswith(f + os.sep) for f in folders)]
    return Sealed(code, tuple(dict.fromkeys(paths)))
