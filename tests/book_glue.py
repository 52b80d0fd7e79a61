"""Read the values a chapter glued (myst_nb ``glue``) from its executed notebook."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "_build" / "jupyter_execute"
_NUMPY_SCALAR = re.compile(r"^np\.\w+\((.*)\)$", re.S)


def _parse(text: str):
    """A glued value's text/plain repr as a Python value (numpy scalars unwrapped)."""
    text = text.strip()
    match = _NUMPY_SCALAR.match(text)
    if match:
        text = match.group(1)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text.strip("'\"")


def executed_notebook(doc: str) -> Path:
    """Path of the executed notebook for ``doc`` (e.g. ``"01_convolution"``)."""
    hits = sorted(EXECUTED.rglob(f"{doc}.ipynb"))
    if not hits:
        raise FileNotFoundError(
            f"no executed notebook for {doc!r} under {EXECUTED}; build the book first"
        )
    return hits[0]


def glued(doc: str) -> dict:
    """``{name: value}`` of everything the chapter glued.

    myst-nb writes every glued value, including those from removed cells, to
    ``<doc>.glue.json`` beside the executed notebook.
    """
    records = json.loads(executed_notebook(doc).with_suffix(".glue.json").read_text())
    values = {}
    for name, output in records.items():
        text = output.get("data", {}).get("text/plain")
        if text is not None:
            values[name] = _parse("".join(text) if isinstance(text, list) else text)
    return values
