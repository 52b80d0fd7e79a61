"""Showing what came from a submission without letting it act: one helper per place.

Everything a submission controls (its student id, file names, notebook text, printed
output, exception messages, link targets) is shown through exactly one of these:

* :func:`html_text` for any HTML page (our feedback, the instructor's report): escaped,
  control characters made visible;
* :func:`terminal_text` for anything printed to a terminal: no escape sequence and no
  control character reaches it (they are shown as ``\\x1b``, ``\\u202e``...);
* :func:`csv_cell` for a spreadsheet cell: a cell that a spreadsheet would read as a
  formula (``=``, ``+``, ``-``, ``@``, tab, CR, LF first) is prefixed with ``'``;
* :func:`markdown_text` for markdown that a notebook renderer will turn into HTML: no
  raw HTML, no ``javascript:``-like link;
* :func:`neutralise_notebook` for a notebook that nbconvert, ``nbgrader
  generate_feedback`` or formgrader will render: only inert content is kept.

Student ids come from :data:`STUDENT_ID`: letters, digits and ``. _ @ -``, at most 100
characters, not starting with ``.``, ``-`` or ``@``. :func:`student_id_problem` says
why a name is not one.
"""

from __future__ import annotations

import html
import re
import unicodedata

#: A student id: the only names graded, used for folders, pages and CSV rows.
STUDENT_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@-]{0,99}")

#: Characters that make a spreadsheet read a cell as a formula (or start one after a
#: separator), full-width forms included.
_FORMULA_START = tuple("=+-@\t\r\n") + ("\uff1d", "\uff0b", "\uff0d", "\uff20")

#: Link schemes that run code or read local files when a rendered page follows them.
_ACTIVE_SCHEME = re.compile(r"(?i)\b(javascript|vbscript|livescript|data|file|jar)(\s*):")


def _is_control(ch: str) -> bool:
    """Control and format characters: C0, DEL, C1, bidirectional overrides, zero-width
    joiners, line and paragraph separators."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def _visible(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"


def visible_controls(text, keep: str = "") -> str:
    """``text`` with every control or format character written as an escape
    (``\\x1b``, ``\\u202e``), except those in ``keep``."""
    return "".join(_visible(c) if _is_control(c) and c not in keep else c for c in str(text))


def html_text(text, *, multiline: bool = True) -> str:
    """``text`` as HTML text or attribute value: escaped, controls made visible
    (newlines and tabs kept when ``multiline``)."""
    return html.escape(visible_controls(text, "\n\t" if multiline else ""), quote=True)


def terminal_text(text, *, multiline: bool = False, limit: int | None = None) -> str:
    """``text`` safe to print to a terminal: no escape sequence, no control character
    (newlines kept only when ``multiline``), cut to ``limit`` characters."""
    out = visible_controls(text, "\n" if multiline else "")
    if limit is not None and len(out) > limit:
        out = out[: max(0, limit - 3)] + "..."
    return out


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: formula starts neutralised with a leading
    ``'``, NUL removed. Idempotent: a neutralised cell is left as it is."""
    text = "" if value is None else str(value)
    text = text.replace("\x00", "")
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text


def shown_name(name, limit: int = 80) -> str:
    """A file name or link target from a submission, quoted for a message: controls
    visible, cut to ``limit`` characters. Still needs the escaping of where it is shown."""
    text = visible_controls(name)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return "'" + text.replace("'", "\\'") + "'"


def student_id_problem(name) -> str | None:
    """Why ``name`` is not a valid student id, or None when it is one."""
    if not isinstance(name, str):
        return f"a student id must be a str, not {type(name).__name__}"
    if not name:
        return "the student id is empty"
    if len(name) > 100:
        return f"the student id has {len(name)} characters; at most 100 are allowed"
    if STUDENT_ID.fullmatch(name):
        return None
    if name[0] in ".-@":
        return f"the student id {shown_name(name)} starts with {name[0]!r}"
    bad = sorted({c for c in name if not re.fullmatch(r"[A-Za-z0-9._@-]", c)})
    shown = ", ".join(_visible(c) if _is_control(c) else repr(c) for c in bad[:6])
    return (f"the student id {shown_name(name)} has characters outside "
            f"A-Z a-z 0-9 . _ @ - ({shown})")


def check_student_id(name, argument: str = "student") -> str:
    """``name`` when it is a valid student id; else ``ValueError`` naming ``argument``."""
    problem = student_id_problem(name)
    if problem is not None:
        raise ValueError(f"{argument}: {problem}; a student id is letters, digits and "
                         ". _ @ - (not first: . - @), at most 100 characters")
    return name


# ---------------------------------------------------------------------------
# notebooks that a renderer will show
# ---------------------------------------------------------------------------

def markdown_text(text) -> str:
    """Markdown from a submission, made inert for any renderer: raw HTML is escaped
    (``<script>`` shows as text), entities other than ``&amp; &lt; &gt;`` are escaped
    (so none can spell out a scheme; those three only ever mean text, which makes the
    function idempotent), and ``javascript:``, ``data:``, ``file:``-like schemes are broken with a
    zero-width space so no link, image or MathJax ``\\href`` can use them."""
    text = _AMP.sub("&amp;", str(text)).replace("<", "&lt;").replace(">", "&gt;")
    return _ACTIVE_SCHEME.sub(lambda m: m.group(1) + "\u200b" + m.group(2) + ":", text)


_AMP = re.compile(r"&(?!(?:amp|lt|gt);)")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_SAFE_WORD = re.compile(r"[A-Za-z0-9 ._()+-]{1,64}")
#: Output formats kept in a rendered notebook: text, and raster images (inert).
_KEPT_MIME = ("text/plain", "image/png", "image/jpeg", "image/gif")


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


def _output(out) -> dict | None:
    kind = out.get("output_type") if isinstance(out, dict) else None
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return {"output_type": "stream", "name": name, "text": _text(out.get("text"))}
    if kind == "error":
        tb = out.get("traceback")
        return {"output_type": "error", "ename": _text(out.get("ename"))[:200],
                "evalue": _text(out.get("evalue")),
                "traceback": [_text(t) for t in tb] if isinstance(tb, list) else []}
    if kind in ("execute_result", "display_data"):
        data = out.get("data") if isinstance(out.get("data"), dict) else {}
        kept = {}
        for mime in _KEPT_MIME:
            value = _text(data.get(mime)) if mime in data else None
            if value is None:
                continue
            if mime.startswith("image/") and not _BASE64.fullmatch(value):
                continue
            kept[mime] = value
        dropped = sorted(k for k in data if k not in kept)
        if dropped and "text/plain" not in kept:
            kept["text/plain"] = f"[output not shown: {', '.join(map(str, dropped))[:200]}]"
        new = {"output_type": kind, "data": kept, "metadata": {}}
        if kind == "execute_result":
            count = out.get("execution_count")
            new["execution_count"] = count if type(count) is int else None
        return new
    return None


def _metadata(nb_meta) -> dict:
    """Only the notebook metadata a renderer needs, with plain values."""
    out = {}
    nb_meta = nb_meta if isinstance(nb_meta, dict) else {}
    ks = nb_meta.get("kernelspec") if isinstance(nb_meta.get("kernelspec"), dict) else {}
    ks = {k: ks[k] for k in ("name", "display_name", "language")
          if isinstance(ks.get(k), str) and _SAFE_WORD.fullmatch(ks[k])}
    if "name" in ks:  # nbformat requires a name and a display name
        ks.setdefault("display_name", ks["name"])
        out["kernelspec"] = ks
    li = nb_meta.get("language_info") if isinstance(nb_meta.get("language_info"), dict) else {}
    if isinstance(li.get("name"), str) and _SAFE_WORD.fullmatch(li["name"]):
        out["language_info"] = {"name": li["name"]}
    return out


def neutralise_cell(cell: dict) -> dict:
    """A cell that renders inertly: only nbgrader's metadata kept, markdown made inert,
    raw cells shown as plain text, outputs reduced to text and raster images."""
    kind = cell.get("cell_type")
    md = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    meta = {"nbgrader": md["nbgrader"]} if isinstance(md.get("nbgrader"), dict) else {}
    source = _text(cell.get("source"))
    new = {"cell_type": kind, "metadata": meta}
    if isinstance(cell.get("id"), str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cell["id"]):
        new["id"] = cell["id"]
    if kind == "code":
        count = cell.get("execution_count")
        new.update(source=source, execution_count=count if type(count) is int else None,
                   outputs=[o for o in map(_output, cell.get("outputs") or []) if o is not None])
    elif kind == "markdown":
        new["source"] = markdown_text(source)
    else:  # raw (or unknown): plain text, never HTML
        new["cell_type"] = "markdown"
        new["source"] = markdown_text(source)
    return new


def neutralise_notebook(nb: dict) -> dict:
    """A copy of the notebook ``nb`` (a dict or NotebookNode) that nbconvert,
    ``nbgrader generate_feedback`` and formgrader render without running anything
    from it: no raw HTML or script, no widget state, no cell tags or attachments,
    no HTML/JavaScript/SVG/LaTeX outputs, no active link schemes."""
    cells = nb.get("cells") if isinstance(nb.get("cells"), list) else []
    cells = [neutralise_cell(c) for c in cells if isinstance(c, dict)]
    taken = {c["id"] for c in cells if "id" in c}
    seen = set()
    for n, cell in enumerate(cells):  # nbformat 4.5: every cell has a unique id
        if cell.get("id") in seen or "id" not in cell:
            new = f"cell-{n}"
            while new in taken:
                new += "x"
            cell["id"] = new
            taken.add(new)
        seen.add(cell["id"])
    return {"cells": cells, "metadata": _metadata(nb.get("metadata")),
            "nbformat": 4, "nbformat_minor": 5}
