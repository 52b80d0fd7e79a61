"""nbgrader's own tools, made safe and clear for this course (``exercises/nbgrader_config.py``
installs them; ``python -m autograder`` does not need them).

* :class:`NeutraliseSubmission`: the last step of ``nbgrader autograde`` and a step of
  ``generate_feedback``: the graded notebook keeps only inert content
  (:func:`~.untrusted.neutralise_notebook`), so neither formgrader nor a feedback page
  runs HTML or JavaScript written by a submission;
* :class:`WrapLongLines`: long error lines wrap in nbgrader's feedback page instead of
  being cut off;
* :class:`ChecksumNote`: nbgrader warns "Attribute 'checksum' for cell ... has changed!"
  for every test cell of every submission, because the hidden tests are removed from
  the released cell; the grade always uses the gradebook's copy. For test cells with
  hidden tests the warning becomes one explanatory line at INFO level; any other
  changed checksum stays a warning.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .notebook import HIDDEN_BEGIN
from .untrusted import neutralise_notebook

WRAP_CSS = """
div.output_area pre, div.output_subarea pre, div.output_text pre, div.input_area pre,
div.highlight pre, .rendered_html pre, pre {
  white-space: pre-wrap !important; overflow-wrap: anywhere; word-break: break-word;
}
div.output_subarea, div.output_area { max-width: 100%; overflow-x: visible; }
"""

CHECKSUM = re.compile(r"Attribute 'checksum' for cell (?P<cell>\S+) has changed!")
EXPLANATION = ("checksum of test cell {cell} differs from the release, as for every "
               "submission: the hidden tests are removed at release, and the cell is "
               "graded from the gradebook's copy (not tampering)")


class NeutraliseSubmission(Preprocessor):
    """Keep only inert content in the notebook (see the module's documentation)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        import nbformat

        clean = nbformat.from_dict(neutralise_notebook(nb))
        return clean, resources


class WrapLongLines(Preprocessor):
    """Add :data:`WRAP_CSS` to the page (after ``CSSHTMLHeaderPreprocessor``)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        inlining = resources.setdefault("inlining", {})
        css = inlining.setdefault("css", [])
        css.append(WRAP_CSS)
        return nb, resources


def hidden_test_ids(source_dir) -> set:
    """The grade ids of the test cells with hidden tests in the source notebooks under
    ``source_dir`` (``source/<assignment>/*.ipynb``)."""
    out = set()
    for path in Path(source_dir).glob("*/*.ipynb"):
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid and HIDDEN_BEGIN in src:
                out.add(gid)
    return out


_EXPLAINED = re.compile(r"checksum of test cell (?P<cell>\S+) differs from the release")


def checksum_cell(message: str, hidden: set) -> str | None:
    """The test cell (one with hidden tests) that nbgrader's checksum warning, or its
    explanation, is about; None for any other message."""
    for pattern in (CHECKSUM, _EXPLAINED):
        m = pattern.search(message)
        if m and m.group("cell") in hidden:
            return m.group("cell")
    return None


def explain_checksum(message: str, hidden: set) -> str | None:
    """The explanation replacing nbgrader's checksum warning ``message``, or None when
    the warning is about a cell without hidden tests (then it stays a warning)."""
    cell = checksum_cell(message, hidden) if CHECKSUM.search(message) else None
    return EXPLANATION.format(cell=cell) if cell else None


class ChecksumNote(logging.Filter):
    """On nbgrader's application loggers: the expected checksum warnings become INFO."""

    def __init__(self, source_dir):
        super().__init__()
        self.source_dir = source_dir
        self._hidden = None

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage() if record.levelno == logging.WARNING else ""
        if "checksum" in message:
            if self._hidden is None:
                self._hidden = hidden_test_ids(self.source_dir)
            text = explain_checksum(message, self._hidden)
            if text is not None:
                record.msg, record.args = text, ()
                record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def install_checksum_note(source_dir, names=("NbGraderApp", "AutogradeApp")) -> None:
    """Put a :class:`ChecksumNote` on nbgrader's loggers (once)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ChecksumNote) for f in logger.filters):
            logger.addFilter(ChecksumNote(source_dir))
