"""Reading a submitted notebook as untrusted data, and deciding what runs where.

:func:`read_cells` never trusts the file: not UTF-8, not JSON, the wrong nbformat,
cells that are not cells... each becomes a problem reported for that student, and
whatever cells can be read are graded.

:func:`plan` lines the submission up with the source notebook, deterministically:

* a test cell is known by its ``grade_id``; its code always comes from the source
  (edited, retyped or emptied in the submission: graded from the source all the same);
* a test cell missing from the submission is put back after the nearest earlier
  nbgrader cell the submission still has (as nbgrader's ``add_missing_cells`` does);
* a second cell with the same ``grade_id`` is not a test: a copied test cell is
  dropped, a copied solution cell runs as ordinary code;
* a read-only (locked) code cell runs the source's version;
* points, ``grade`` flags and other nbgrader metadata in the submission are ignored;
  every change is reported.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
from dataclasses import dataclass, field

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


@dataclass
class Cell:
    index: int
    cell_type: str
    source: str
    grade_id: str | None
    nbgrader: dict
    metadata: dict


#: A surrogate code point left alone: json.loads makes one from an escape such as \ud800
#: (an escaped pair becomes one character), and UTF-8 writers (the gradebook) refuse it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return None


def read_cells(data: bytes):
    """``(cells or None, notebook metadata, problems)`` for a submitted file."""
    problems = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, {}, [f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})"]
    try:
        nb = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return None, {}, [f"the file is not valid JSON ({str(exc)[:120]})"]
    if not isinstance(nb, dict):
        return None, {}, ["the file is JSON but not a notebook"]
    version = nb.get("nbformat")
    raw_cells = nb.get("cells")
    if version == 3 and isinstance(nb.get("worksheets"), list):
        problems.append("nbformat 3 notebook: read as version 4")
        raw_cells = []
        for ws in nb["worksheets"]:
            for c in ws.get("cells", []) if isinstance(ws, dict) else []:
                if isinstance(c, dict):
                    c = dict(c)
                    if c.get("cell_type") == "code":
                        c["source"] = c.get("input", "")
                    elif c.get("cell_type") == "heading":
                        c["cell_type"] = "markdown"
                    raw_cells.append(c)
    elif version != 4:
        problems.append(f"nbformat {str(version)[:20]!r} is not supported; read as version 4"
                        if version is not None else "the notebook has no nbformat version; "
                        "read as version 4")
    if not isinstance(raw_cells, list):
        return None, {}, problems + ["the notebook has no list of cells"]
    metadata = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    cells = []
    for i, c in enumerate(raw_cells):
        if not isinstance(c, dict):
            problems.append(f"cell {i} is not a cell; skipped")
            continue
        kind = c.get("cell_type")
        if kind not in ("code", "markdown", "raw"):
            problems.append(f"cell {i} has cell type {str(kind)[:20]!r}; skipped")
            continue
        src = _text(c.get("source", ""))
        if src is None:
            problems.append(f"cell {i} has no readable source; treated as empty")
            src = ""
        if _SURROGATE.search(src):  # the gradebook could not store the cell
            problems.append(f"cell {i} holds a lone surrogate (not Unicode text); "
                            "replaced by U+FFFD")
            src = _SURROGATE.sub("\N{REPLACEMENT CHARACTER}", src)
        md = c.get("metadata") if isinstance(c.get("metadata"), dict) else {}
        nbg = md.get("nbgrader") if isinstance(md.get("nbgrader"), dict) else {}
        gid = nbg.get("grade_id")
        if gid is not None and not isinstance(gid, str):
            problems.append(f"cell {i} has a grade_id that is not a string; ignored")
            gid = None
        cells.append(Cell(i, kind, src, gid or None, nbg, md))
    ids = [c.get("id") for c in raw_cells if isinstance(c, dict) and isinstance(c.get("id"), str)]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        problems.append(f"duplicated cell ids {dup[:5]}; cell ids are not used for grading")
    return cells, metadata, problems


# ---------------------------------------------------------------------------
# source notebooks
# ---------------------------------------------------------------------------

def split_hidden(source: str):
    """``(visible source, first line of the hidden region or 0)``: nbgrader's
    ``ClearHiddenTests`` applied to one cell."""
    lines = source.splitlines(keepends=True)
    out, hidden, first = [], False, 0
    for n, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped == HIDDEN_BEGIN:
            hidden = True
            first = first or n
            continue
        if stripped == HIDDEN_END:
            hidden = False
            continue
        if not hidden:
            out.append(line)
    return "".join(out).rstrip("\n") + ("\n" if out and source.endswith("\n") else ""), first


def _bound_and_loaded(tree):
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                bound.add((a.asname or a.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
    return loaded, bound


def free_names(source: str) -> list:
    """Names a cell reads but never binds (and that are not builtins), sorted."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    loaded, bound = _bound_and_loaded(tree)
    return sorted(n for n in loaded - bound if not hasattr(builtins, n))


def imports_of(source: str):
    """``(import statements as source, imported top-level module names)`` of a cell's
    top level."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [], []
    stmts, modules = [], []
    for node in tree.body:
        if isinstance(node, ast.Import):
            stmts.append(ast.unparse(node))
            modules += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            stmts.append(ast.unparse(node))
            modules.append(node.module)
    return stmts, modules


def bound_by(statements) -> set:
    names = set()
    for stmt in statements:
        try:
            tree = ast.parse(stmt)
        except SyntaxError:
            continue
        names |= _bound_and_loaded(tree)[1]
    return names


# ---------------------------------------------------------------------------
# lining a submission up with its source
# ---------------------------------------------------------------------------

@dataclass
class Entry:
    """One cell of the notebook as graded."""

    kind: str                   #: "code" (runs in the sandbox), "test" or "text"
    source: str
    cell_type: str
    grade_id: str | None = None
    sub_index: int | None = None    #: position in the submission (None: restored)
    nbgrader: dict | None = None    #: metadata written to the autograded notebook
    metadata: dict = field(default_factory=dict)


def _norm(src: str) -> str:
    return "\n".join(line.rstrip() for line in src.strip().splitlines())


def _float(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def plan(cells, nb_spec):
    """``(entries, problems)``: the notebook as it will be graded."""
    tests = {t.grade_id: t for t in nb_spec.tests}
    known = {c.grade_id: c for c in nb_spec.cells}
    entries, problems, seen = [], [], set()
    for c in cells:
        gid = c.grade_id
        md = {k: v for k, v in c.metadata.items() if k != "nbgrader"}
        if gid is not None and gid in seen:
            if gid in tests:
                problems.append(f"cell {c.index} repeats test cell {gid!r}; the copy is not run")
                entries.append(Entry("text" if c.cell_type != "code" else "dropped", c.source,
                                     c.cell_type, None, c.index, None, md))
            else:
                problems.append(f"cell {c.index} repeats the grade_id {gid!r}; "
                                "it runs as an ordinary cell")
                entries.append(Entry("code" if c.cell_type == "code" else "text", c.source,
                                     c.cell_type, None, c.index, None, md))
            continue
        if gid is not None:
            seen.add(gid)
        if gid in tests:
            t = tests[gid]
            if c.cell_type != "code":
                problems.append(f"test cell {gid!r} was changed to a {c.cell_type} cell; "
                                "it is graded from the source")
            elif _norm(c.source) != _norm(t.visible):
                problems.append(f"test cell {gid!r} was edited; it is graded from the source")
            pts = c.nbgrader.get("points")
            if pts is not None and _float(pts) != float(t.points):
                problems.append(f"the points of {gid!r} were changed to {str(pts)[:20]} in the "
                                f"submission; the source's {t.points:g} count")
            if c.nbgrader.get("grade") is not True:
                problems.append(f"the grading metadata of test cell {gid!r} was changed; "
                                "it is graded from the source")
            entries.append(Entry("test", t.visible, "code", gid, c.index,
                                 known[gid].nbgrader if gid in known else None, md))
        elif gid in known:
            spec = known[gid]
            source = c.source
            if spec.cell_type != c.cell_type:
                problems.append(f"cell {gid!r} was changed from {spec.cell_type} to "
                                f"{c.cell_type}; changed back")
            if spec.locked and _norm(c.source) != _norm(spec.source):
                problems.append(f"read-only cell {gid!r} was edited; the source's version is used")
                source = spec.source
            kind = "code" if spec.cell_type == "code" else "text"
            entries.append(Entry(kind, source, spec.cell_type, gid, c.index, spec.nbgrader, md))
        else:
            if gid is not None:
                problems.append(f"cell {c.index} has nbgrader metadata for an unknown cell "
                                f"{gid!r}; it is an ordinary cell")
            elif c.nbgrader.get("grade") is True:
                problems.append(f"cell {c.index} claims to be graded without a grade_id; "
                                "it is an ordinary cell")
            entries.append(Entry("code" if c.cell_type == "code" else "text", c.source,
                                 c.cell_type, None, c.index, None, md))
    # put missing test cells back after the nearest earlier nbgrader cell that is present
    position = {e.grade_id: i for i, e in enumerate(entries) if e.grade_id is not None}
    order = {c.grade_id: c.order for c in nb_spec.cells}
    for t in nb_spec.tests:
        if t.grade_id in seen:
            continue
        problems.append(f"test cell {t.grade_id!r} is missing from the submission; "
                        "it is graded from the source")
        before = [g for g in position if order.get(g, -1) < t.order and g in order]
        at = position[max(before, key=lambda g: order[g])] + 1 if before else 0
        entries.insert(at, Entry("test", t.visible, "code", t.grade_id, None,
                                 known[t.grade_id].nbgrader if t.grade_id in known else None))
        position = {e.grade_id: i for i, e in enumerate(entries) if e.grade_id is not None}
    return entries, problems
