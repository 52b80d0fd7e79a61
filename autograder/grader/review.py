"""Code a human should read: a static scan of a submission's code cells for the
introspection that can defeat the reference-call guard or the checks.

The guard and the checks run in the same process as the student's code (in the kernel
under nbgrader, in the sandbox under ``python -m autograder``); code that reads frames,
the profiler, code objects or the garbage collector's lists can, with enough work, get
past any in-process check. Such code is rare in honest work on these exercises, so it is
*flagged*, never penalised: each hit becomes a note "uses <what> (cell N): review by
hand; it can defeat the grading" in the student's feedback, a count in the printed
summary and a list in the class report. Pure: a function of the cells' text.
"""

from __future__ import annotations

import ast
import re

__all__ = ["NOTE_END", "is_review_note", "notes", "scan"]

NOTE_END = "review by hand; it can defeat the grading"

#: Dotted names whose use is flagged (called or only read).
_DOTTED = ("sys.getprofile", "sys.setprofile", "sys.settrace", "sys.gettrace",
           "sys._getframe", "threading.setprofile", "threading.settrace",
           "gc.get_objects", "gc.get_referrers", "gc.get_referents", "inspect.currentframe",
           "inspect.stack", "inspect.getouterframes", "types.CodeType", "types.FunctionType",
           "types.FrameType")
#: Attributes whose read or write is flagged, wherever they are reached from.
_ATTRS = ("__code__", "__globals__", "__closure__", "cell_contents", "__builtins__",
          "co_consts", "co_code", "co_names", "f_back", "f_globals", "f_locals", "f_builtins",
          "tb_frame", "gi_frame", "cr_frame", "_getframe", "getprofile", "setprofile",
          "settrace", "get_objects", "get_referrers", "CodeType", "FunctionType")
_CALLS = ("exec", "eval", "compile", "__import__")
_MODULES = ("ctypes", "_ctypes", "_ag_guards", "_ag_runtime", "_ag_wire")
_MODULES_CHANGES = ("update", "pop", "__setitem__", "__delitem__", "setdefault", "clear",
                    "popitem")
_WORDS = re.compile(r"\b(" + "|".join(re.escape(w) for w in
                                      _ATTRS + _CALLS + _MODULES + ("sys.modules",)) + r")\b")


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _hits_in_tree(tree) -> list:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) \
                else [node.module or ""]
            found += [f"import {m}" for m in mods if m.split(".")[0] in _MODULES]
            if isinstance(node, ast.ImportFrom) and node.module in ("sys", "types", "inspect",
                                                                  "threading", "gc"):
                found += [f"{node.module}.{a.name}" for a in node.names
                          if f"{node.module}.{a.name}" in _DOTTED]
        elif isinstance(node, ast.Subscript) and _dotted(node.value) == "sys.modules" \
                and isinstance(node.ctx, (ast.Store, ast.Del)):
            found.append("sys.modules[...] =")
        elif isinstance(node, ast.Attribute):
            name = _dotted(node)
            if name.startswith("sys.modules.") and node.attr in _MODULES_CHANGES:
                found.append(f"sys.modules.{node.attr}")
            if name in _DOTTED:
                found.append(name)
            elif node.attr in _ATTRS:
                found.append(node.attr)
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            found.append("__builtins__")
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in _CALLS:
                found.append(f"{node.func.id}()")
            if isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr") \
                    and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in _ATTRS:
                found.append(str(node.args[1].value))
            found += [f"replace({k.arg}=...)" for k in node.keywords
                      if k.arg and k.arg.startswith("co_")]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value in _ATTRS:
            found.append(node.value)  # getattr(f, "__code__") and the like
    return found


def scan(cells) -> list:
    """``[(cell number, [what, ...]), ...]`` for ``cells``: ``(number, source)`` pairs of
    code cells (numbers as the student sees them). A cell that does not parse (IPython
    syntax) is searched word by word."""
    out = []
    for number, source in cells:
        if not isinstance(source, str) or not source.strip():
            continue
        try:
            found = _hits_in_tree(ast.parse(source))
        except (SyntaxError, ValueError, RecursionError):
            found = [m.group(1) for m in _WORDS.finditer(source)]
        found = list(dict.fromkeys(found))
        if found:
            out.append((number, found))
    return out


def notes(cells) -> list:
    """One note per flagged cell, for the student's feedback and the instructor."""
    return [f"uses {', '.join(what[:6])}{' and more' if len(what) > 6 else ''} "
            f"(cell {number}): {NOTE_END}" for number, what in scan(cells)]


def is_review_note(note) -> bool:
    return isinstance(note, str) and note.startswith("uses ") and note.endswith(NOTE_END)


def notebook_cells(nb) -> list:
    """``(number, source)`` of the code cells of a notebook (a dict as nbformat reads it),
    numbered from 1 among all its cells."""
    cells = nb.get("cells", []) if isinstance(nb, dict) else []
    out = []
    for i, cell in enumerate(cells if isinstance(cells, list) else []):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source", "")
            out.append((i + 1, "".join(src) if isinstance(src, list) else str(src)))
    return out
