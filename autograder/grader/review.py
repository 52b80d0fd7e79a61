"""Code a human should read: a static scan of a submission's code cells for the
introspection that can defeat the reference-call guard or the checks.

The guard and the checks run in the same process as the student's code (in the kernel
under nbgrader, in the sandbox under ``python -m autograder``); code that reads frames,
the profiler, code objects or the garbage collector's lists can, with enough work, get
past any in-process check. Such code is rare in honest work on these exercises, so it is
*flagged*, never penalised: each hit becomes a note "uses <what> (cell N): review by
hand; it can defeat the grading" in the student's feedback, a count in the printed
summary and a list in the class report. Pure: a function of the cells' text.

A code cell is flagged when it

1. names a flagged attribute, function or module in any spelling the code shows
   literally: an attribute of anything (``x.f_back``), a module or function through an
   alias (``import inspect as i; i.currentframe``, ``from inspect import currentframe``,
   ``s = sys; s.settrace``), a literal name given to ``getattr``, ``vars(m)[...]``,
   ``m.__dict__[...]``, ``sys.modules[...]`` or ``importlib.import_module``;
2. reaches an attribute, a global or a module by a name that is not literal: ``getattr``,
   ``setattr``, ``delattr``, ``hasattr``, ``operator.attrgetter``/``methodcaller``,
   ``importlib.import_module`` given a computed name, unless the name's literal parts
   rule out every flagged name and every dunder (``getattr(self, f"{n}_bn_weight")``
   ends in ``_bn_weight``); a namespace (``vars()``, ``globals()``, ``locals()``,
   ``__dict__``, ``sys.modules``) used other than to test a name or read a literal one;
   ``getattr`` and the like passed on as values;
3. calls, or passes on, ``exec``, ``eval``, ``compile`` or ``__import__``, bare or as an
   attribute of ``builtins`` however that is reached;
4. finds, reads or loads a module's source (``m.__file__``, ``inspect.getsource``,
   ``ast.unparse``, ``runpy``, a loader from a file): the way to an edited copy of a
   reference, which no fingerprint matches.

Each hit says what was found: "getattr with a computed name", "builtins.exec",
"inspect.currentframe (as i.currentframe)".
"""

from __future__ import annotations

import ast
import re

__all__ = ["NOTE_END", "is_review_note", "notes", "scan"]

NOTE_END = "review by hand; it can defeat the grading"

#: Dotted names whose use is flagged (called or only read), however the module is reached.
_DOTTED = ("sys.getprofile", "sys.setprofile", "sys.settrace", "sys.gettrace",
           "sys._getframe", "sys._current_frames", "sys.monitoring", "threading.setprofile",
           "threading.settrace", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
           "inspect.currentframe", "inspect.stack", "inspect.trace", "inspect.getouterframes",
           "inspect.getinnerframes", "inspect.getclosurevars", "types.CodeType",
           "types.FunctionType", "types.LambdaType", "types.FrameType", "types.CellType",
           "builtins.exec", "builtins.eval", "builtins.compile", "builtins.__import__",
           # reading or loading a module's source: an edited copy of a reference
           "inspect.getsource", "inspect.getsourcelines", "inspect.getsourcefile",
           "inspect.getfile", "ast.unparse", "ast.NodeTransformer", "runpy.run_path",
           "runpy.run_module", "importlib.util.spec_from_file_location",
           "importlib.machinery.SourceFileLoader", "pkgutil.get_data")
#: Attributes whose read or write is flagged, wherever they are reached from: frames, code
#: objects, the profiler and tracer, the collector's lists, torch's dispatch-mode stacks.
_ATTRS = ("__code__", "__globals__", "__closure__", "cell_contents", "__builtins__",
          "__file__", "__path__", "__spec__", "__loader__", "getsource", "getsourcefile",
          "getsourcelines", "spec_from_file_location", "SourceFileLoader",
          "__getattribute__", "__setattr__", "__delattr__",
          # attribute reads by a name given as a string: getattr's other spellings
          "getattr_static", "get_field",
          "co_consts", "co_code", "co_names", "f_back", "f_code", "f_globals", "f_locals",
          "f_builtins", "f_trace", "tb_frame", "gi_frame", "gi_code", "cr_frame", "cr_code",
          "_getframe", "_current_frames", "currentframe", "getouterframes", "getinnerframes",
          "getclosurevars", "getprofile", "setprofile", "settrace", "gettrace",
          "setprofile_all_threads", "settrace_all_threads", "_profile_hook", "_trace_hook",
          "get_objects", "get_referrers", "get_referents", "CodeType", "FunctionType",
          "_python_dispatch", "_disable_current_modes", "_disable_infra_mode", "_pop_mode",
          "_pop_mode_temporarily", "_push_mode", "_set_torch_function_mode",
          "_pop_torch_dispatch_stack", "_push_on_torch_dispatch_stack",
          "_pop_torch_function_stack", "_push_on_torch_function_stack", "_set_dispatch_mode",
          "_unset_dispatch_mode", "_unset_infra_mode", "_get_dispatch_stack_at",
          "_get_function_stack_at", "_get_current_dispatch_mode_stack",
          "_get_current_function_mode_stack", "DisableTorchFunction",
          "DisableTorchFunctionSubclass", "_DisableTorchDispatch", "_ExcludeDispatchKeyGuard",
          "ExcludeDispatchKeyGuard", "_SetExcludeDispatchKeyGuard",
          "_dispatch_tls_set_dispatch_key_excluded", "_dispatch_tls_set_dispatch_key_included")
_CALLS = ("exec", "eval", "compile", "__import__")
#: Modules whose import is flagged (by ``import``, ``sys.modules[...]`` or import_module).
_MODULES = ("ctypes", "_ctypes", "marshal", "builtins", "torch.utils._python_dispatch",
            "_ag_guards", "_ag_runtime", "_ag_wire")
#: Functions given an attribute's name (second argument) or a module's (first).
_BY_NAME = ("getattr", "setattr", "delattr", "hasattr")
_BY_MODULE = ("importlib.import_module", "importlib.__import__")
_BY_NAMES = ("operator.attrgetter", "operator.methodcaller")
#: Names no computed name may be able to spell: attributes, and modules.
_ATTR_NAMES = _ATTRS + _CALLS + ("modules",) + tuple(d.rsplit(".", 1)[1] for d in _DOTTED)
_MODULE_NAMES = _MODULES + ("sys", "gc", "inspect", "types", "threading", "operator",
                            "importlib", "torch._C", "torch.overrides")
#: How a namespace may be used unflagged: ``k in ns``, ``ns["literal"]``, ``ns.get("literal")``.
_READS = ("get", "keys", "__contains__")
#: A literal path into the package's folder (where its references' source lies).
_SOURCE_PATH = re.compile(r"[/\\]cnnbook(?:[/\\]|$)|^cnnbook[/\\]")
#: An IPython magic or shell line: its indentation, and what follows the command.
_MAGIC = re.compile(r"^([ \t]*)(?:%%?\w+|!)[ \t]*(.*)$", re.M)
_WORDS = re.compile(r"\b(" + "|".join(re.escape(w) for w in
                                      _ATTRS + _CALLS + _MODULES + ("sys.modules",)) + r")\b")


def _literal(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
        else None


def _parts(node) -> list:
    """The literal pieces of a string expression, None where it is computed."""
    if _literal(node) is not None:
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [_literal(v) for v in node.values]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _parts(node.left) + _parts(node.right)
    return [None]


def _may_spell(node, names) -> bool:
    """Whether the string ``node`` computes can be one of ``names`` or a dunder, as far as
    its literal parts tell: ``f"{n}_bn_weight"`` can be neither."""
    parts = _parts(node)
    if any(re.fullmatch("".join(".*" if p is None else re.escape(p) for p in parts), n,
                        re.S) for n in names):
        return True
    if None not in parts:
        return False
    head = "".join(parts[:parts.index(None)])
    tail = "".join(parts[len(parts) - parts[::-1].index(None):])
    return "__".startswith(head[:2]) and "__".endswith(tail[-2:])


def _called(node, names, wanted) -> bool:
    return isinstance(node, ast.Call) and any(
        q.removeprefix("builtins.") in wanted for q in _refs(node.func, names))


def _namespace(node, names):
    """``(label, owners)`` when ``node`` is a namespace read by key: ``vars(m)`` and
    ``m.__dict__`` (owners: what ``m`` stands for), ``globals()``, ``locals()`` and
    ``sys.modules`` (owner ``""``: keys are top-level names)."""
    if _called(node, names, ("vars",)):
        return "vars()", _refs(node.args[0], names) if node.args else {""}
    if _called(node, names, ("globals", "locals")):
        return ast.unparse(node.func).removeprefix("builtins.") + "()", {""}
    if isinstance(node, ast.Attribute) and node.attr == "__dict__":
        return "__dict__", _refs(node.value, names)
    if "sys.modules" in _refs(node, names):
        return "sys.modules", {""}
    return None


def _refs(node, names) -> set:
    """The dotted names ``node`` may stand for, aliases resolved (``i.currentframe`` is
    ``inspect.currentframe`` after ``import inspect as i``); ``getattr(m, "x")``,
    ``vars(m)["x"]``, ``m.__dict__["x"]`` are ``m.x``; ``sys.modules["m"]`` and
    ``importlib.import_module("m")`` are ``m``. ``?`` stands for what is unknown."""
    if isinstance(node, ast.Name):
        return set(names.get(node.id, {node.id}))
    if isinstance(node, ast.Attribute):
        return {f"{q}.{node.attr}" for q in _refs(node.value, names)}
    if isinstance(node, ast.Call) and len(node.args) > 1 and _literal(node.args[1]) \
            and _called(node, names, _BY_NAME):
        return {f"{q}.{node.args[1].value}" for q in _refs(node.args[0], names)}
    if isinstance(node, ast.Call) and node.args and _literal(node.args[0]) \
            and _called(node, names, _BY_MODULE + ("__import__",)):
        return {node.args[0].value}
    if isinstance(node, ast.Subscript) and _literal(node.slice):
        space = _namespace(node.value, names)
        if space:
            return {f"{q}.{node.slice.value}".lstrip(".") for q in space[1]}
    return {"?"}


def _bindings(tree) -> dict:
    """Local name -> the dotted names it may stand for, from imports and from plain
    assignments of names (``s = sys``), whatever their order."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names.setdefault(a.asname or a.name.split(".")[0], set()).add(
                    a.name if a.asname else a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                names.setdefault(a.asname or a.name, set()).add(f"{node.module}.{a.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Name, ast.Attribute)):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, set()).update(_refs(node.value, names))
    return names


def _named(q, spelled, called=False) -> list:
    """What a reference to the dotted name ``q`` (written ``spelled``) shows, if flagged."""
    last = q.rsplit(".", 1)[-1]
    if q in _DOTTED:
        return [q if q == spelled else f"{q} (as {spelled})"]
    if last in _ATTRS:
        return [last]
    if q in _CALLS or last in ("exec", "__import__"):
        return [(q if q in _CALLS else spelled) + ("()" if called else "")]
    return []


def _module(name) -> bool:
    return any(name == m or name.startswith(m + ".") for m in _MODULES)


def _computed(node, names) -> list:
    """Attributes and modules reached by a computed name in the call ``node``."""
    func = ast.unparse(node.func)
    if _called(node, names, _BY_NAME) and len(node.args) > 1 \
            and _literal(node.args[1]) is None and _may_spell(node.args[1], _ATTR_NAMES):
        return [f"{func} with a computed name"]
    if _called(node, names, _BY_MODULE) and node.args and _literal(node.args[0]) is None \
            and _may_spell(node.args[0], _MODULE_NAMES):
        return [f"{func} with a computed name"]
    if _called(node, names, _BY_NAMES):
        given = [_literal(a) for a in node.args]
        if None in given:
            return [f"{func} with a computed name"]
        return [f"{func}({g!r})" for g in given if set(g.split(".")) & set(_ATTRS + _CALLS)]
    return []


def _namespace_use(node, label, parent) -> list:
    """A namespace used other than to test a name or read a literal one."""
    if isinstance(parent, ast.Compare) and node in parent.comparators \
            and isinstance(parent.ops[parent.comparators.index(node)], (ast.In, ast.NotIn)):
        return []
    if isinstance(parent, ast.Subscript) and parent.value is node:
        if not isinstance(parent.ctx, ast.Load):
            return [f"{label}[...] ="]
        universe = _MODULE_NAMES if label == "sys.modules" else _ATTR_NAMES
        computed = _literal(parent.slice) is None and _may_spell(parent.slice, universe)
        return [f"{label}[computed]"] if computed else []
    if isinstance(parent, ast.Attribute) and parent.value is node:
        return [] if parent.attr in _READS else [f"{label}.{parent.attr}"]
    return [f"{label} as a value"]


def _hits_in_tree(tree) -> list:
    names = _bindings(tree)
    parents = {child: parent for parent in ast.walk(tree)
               for child in ast.iter_child_nodes(parent)}
    found = []
    for node in ast.walk(tree):
        parent = parents.get(node)
        called = isinstance(parent, ast.Call) and parent.func is node
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if _module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [f"import {node.module}"] if _module(node.module) else []
            for a in node.names:
                if a.name == "*" and node.module in _MODULE_NAMES:
                    found.append(f"from {node.module} import *")
                q = f"{node.module}.{a.name}"
                found += _named(q, a.asname or q)
        elif isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
            refs = _refs(node, names) - {"?"}
            spelled = ast.unparse(node) if refs else ""
            for q in refs:
                found += _named(q, spelled, called)
            if _called(node, names, _BY_MODULE + ("__import__",)) or (
                    isinstance(node, ast.Subscript)
                    and (_namespace(node.value, names) or ("",))[0] == "sys.modules"):
                found += [f"import {q} (as {spelled})" for q in refs if _module(q)]
        if isinstance(node, ast.Name) and node.id in _BY_NAME + ("vars", "globals", "locals") \
                and not called:
            found.append(f"{node.id} as a value")
        if isinstance(node, ast.Call):
            found += _computed(node, names)
            found += [f"replace({k.arg}=...)" for k in node.keywords
                      if k.arg and k.arg.startswith("co_")]
        space = _namespace(node, names)
        if space:
            found += _namespace_use(node, space[0], parent)
        if isinstance(node, ast.Constant) and _literal(node) in _ATTRS:
            found.append(node.value)  # "__code__" given to getattr or hasattr and the like
        if isinstance(node, ast.Constant) and _SOURCE_PATH.search(_literal(node) or ""):
            found.append("a path into cnnbook's source")
    return found


def _hits(source):
    try:
        return _hits_in_tree(ast.parse(source))
    except (SyntaxError, ValueError, RecursionError):
        return None


def scan(cells) -> list:
    """``[(cell number, [what, ...]), ...]`` for ``cells``: ``(number, source)`` pairs of
    code cells (numbers as the student sees them). A cell that does not parse (IPython
    syntax) is searched word by word, and scanned with its magic and shell lines read as
    the Python they run (``%time x = f()``) or, failing that, left out."""
    out = []
    for number, source in cells:
        if not isinstance(source, str) or not source.strip():
            continue
        found = _hits(source)
        if found is None:
            found = [m.group(1) for m in _WORDS.finditer(source)] + (
                _hits(_MAGIC.sub(r"\1\2", source)) or _hits(_MAGIC.sub(r"\1pass", source))
                or [])
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
