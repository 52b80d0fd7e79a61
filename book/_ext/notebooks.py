"""Notebooks to download, built with the book.

For every chapter, ``_build/html/notebooks/<chapter>.ipynb``: the chapter as a Jupyter
notebook with the outputs of the build (from the execution cache), its glued numbers
written into the text (Jupyter does not know MyST's ``{glue}`` roles). For every
assignment a chapter names, ``_build/html/notebooks/<assignment>.ipynb``: the student
version, made from ``exercises/source/<assignment>/<assignment>.ipynb`` by nbgrader's
``generate_assignment`` (solutions and hidden tests removed) in a scratch copy of the
course, so the course itself is never touched.

In a chapter, the directive

    ```{notebook-downloads}
    ```

writes the links to both (the chapter's assignment comes from ``notebook_assignments``
in ``_config.yml``; a chapter without one links only its own notebook); the theme's
download menu gets the same entries. A new chapter needs the directive in its
Exercises section and, if it has an assignment, a line in ``notebook_assignments``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)
FOLDER = "notebooks"


def _relative(docname: str, target: str) -> str:
    return "../" * docname.count("/") + target


def _links(app, docname: str) -> list[tuple[str, str]]:
    """``(label, href)`` for the chapter's notebook and its assignment's student notebook."""
    stem = docname.split("/")[-1]
    links = [(f"{stem}.ipynb", _relative(docname, f"{FOLDER}/{stem}.ipynb"))]
    assignment = app.config.notebook_assignments.get(docname)
    if assignment:
        links.append((f"{assignment}.ipynb", _relative(docname, f"{FOLDER}/{assignment}.ipynb")))
    return links


class NotebookDownloads(SphinxDirective):
    """Links to this chapter as a notebook and to its assignment's student notebook."""

    def run(self):
        docname = self.env.docname
        links = _links(self.env.app, docname)
        assignment = self.env.app.config.notebook_assignments.get(docname)
        items = [f'<li><a class="reference cnnbook-notebook" href="{links[0][1]}" download>'
                 f"This chapter as a Jupyter notebook (<code>{links[0][0]}</code>)</a>, "
                 f"with the outputs of this build; it needs <code>cnnbook</code> "
                 f"installed (see the preface).</li>"]
        if assignment:
            items.append(f'<li><a class="reference cnnbook-notebook" href="{links[1][1]}" download>'
                         f"The assignment <code>{assignment}</code>, student version "
                         f"(<code>{links[1][0]}</code>)</a>: each task, its visible "
                         f"self-checks, no solutions.</li>")
        html = f'<ul class="cnnbook-downloads">{"".join(items)}</ul>'
        return [nodes.raw("", html, format="html")]


# ---------------------------------------------------------------------------
# The chapter notebooks
# ---------------------------------------------------------------------------

_ROLE = re.compile(r"\{(?P<role>[a-z:]+)\}`(?P<body>[^`]*)`")


def _glue_values(nb) -> dict:
    """``name -> text/plain`` of every value the notebook glued."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name and "text/plain" in out.get("data", {}):
                values[name] = out["data"]["text/plain"]
    return values


def _format(text: str, spec: str) -> str:
    """A glued value as the page shows it (numbers for people, see numbers.py)."""
    from cnnbook.viz import humanize

    try:
        value = ast.literal_eval(re.sub(r"^np\.\w+\((.*)\)$", r"\1", text.strip(), flags=re.S))
    except (ValueError, SyntaxError):
        return humanize(text.strip("'\""))
    if not spec:
        return humanize(str(value))
    try:
        return humanize(format(value, spec))
    except (TypeError, ValueError):
        return humanize(str(value))


def jupyter_markdown(text: str, glue: dict) -> str:
    """MyST roles Jupyter cannot show, written out: glued values, citations, references."""
    def replace(m):
        role, body = m.group("role"), m.group("body")
        if role in ("glue", "glue:", "glue:text"):
            name, _, spec = body.partition(":")
            return _format(glue[name], spec) if name in glue else f"`{body}`"
        if role.startswith("cite"):
            keys = ", ".join(k.strip() for k in body.split(","))
            return keys if role == "cite:t" else f"[{keys}]"
        if role in ("doc", "ref", "numref"):
            return body.split("<")[0].strip() or body
        return m.group(0)

    return _ROLE.sub(replace, text)


def chapter_notebook(source: Path, cache_path: Path):
    """The chapter ``source`` (MyST markdown) as a notebook with its cached outputs."""
    from myst_nb.core.read import read_myst_markdown_notebook

    nb = read_myst_markdown_notebook(source.read_text(), path=str(source))
    if cache_path.exists():
        from jupyter_cache import get_cache

        try:
            _, nb = get_cache(str(cache_path)).merge_match_into_notebook(nb)
        except KeyError:
            logger.warning(f"{source.name}: no executed copy in {cache_path}; "
                           "its notebook has no outputs", type="notebooks")
    glue = _glue_values(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = jupyter_markdown(cell.source, glue)
    nb.metadata.pop("source_map", None)
    return nb


# ---------------------------------------------------------------------------
# The student notebooks
# ---------------------------------------------------------------------------

def student_notebooks(course: Path, names: list[str], dest: Path) -> None:
    """nbgrader's generate_assignment of each assignment, in a scratch copy of ``course``;
    the release notebooks are copied to ``dest``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(course / "nbgrader_config.py", root)
        for name in names:
            shutil.copytree(course / "source" / name, root / "source" / name)
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
        config.CourseDirectory.root = str(root)
        saved = os.environ.get("PATH", "")
        # nbgrader runs the `alembic` executable that lies beside this interpreter
        os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), saved])
        try:
            api = NbGraderAPI(CourseDirectory(config=config), config=config)
            for name in names:
                result = api.generate_assignment(name, force=True)
                if not result.get("success"):
                    raise RuntimeError(f"generate_assignment {name} failed: "
                                       f"{result.get('error') or result.get('log')}")
                shutil.copy(root / "release" / name / f"{name}.ipynb", dest / f"{name}.ipynb")
        finally:
            os.environ["PATH"] = saved


def _digest(paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def write_notebooks(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import nbformat

    root = Path(app.confdir)
    dest = Path(app.outdir) / FOLDER
    dest.mkdir(exist_ok=True)
    cache = Path(app.config.nb_execution_cache_path or "")
    cache = cache if cache.is_absolute() else root / cache
    for docname in sorted(app.env.found_docs):  # every MyST notebook of the book
        source = root / f"{docname}.md"
        if source.exists() and "kernelspec:" in source.read_text()[:2000]:
            nb = chapter_notebook(source, cache)
            nbformat.write(nb, dest / f"{docname.split('/')[-1]}.ipynb")
    # The student notebooks change only when the exercises do: keep them otherwise.
    course = root / app.config.notebook_course
    names = sorted(set(app.config.notebook_assignments.values()))
    sources = [course / "nbgrader_config.py"] + [course / "source" / n / f"{n}.ipynb"
                                                 for n in names]
    missing = [str(p) for p in sources if not p.exists()]
    if missing:
        logger.warning(f"exercise sources missing: {missing}", type="notebooks")
        return
    stamp = dest.parent.parent / ".student-notebooks.json"
    digest = _digest(sources)
    fresh = (stamp.exists() and json.loads(stamp.read_text()).get("digest") == digest
             and all((dest / f"{n}.ipynb").exists() for n in names))
    if not fresh:
        student_notebooks(course, names, dest)
        stamp.write_text(json.dumps({"digest": digest}))


def add_to_download_menu(app, pagename, templatename, context, doctree) -> None:
    """The theme's download menu: the chapter's notebooks next to its source file."""
    source = Path(app.confdir) / f"{pagename}.md"
    if not source.exists() or "kernelspec:" not in source.read_text()[:2000]:
        return
    buttons = context.get("header_buttons") or []
    for button in buttons:
        if button.get("type") == "group" and "download" in button.get("icon", ""):
            for label, href in _links(app, pagename):
                button["buttons"].append({
                    "type": "link", "url": href, "text": label,
                    "tooltip": "Download notebook", "icon": "fas fa-code",
                    "label": "download-notebook-button"})


def setup(app):
    app.add_config_value("notebook_assignments", {}, "html")   # docname -> assignment
    app.add_config_value("notebook_course", "exercises", "html")
    app.add_directive("notebook-downloads", NotebookDownloads)
    app.connect("html-page-context", add_to_download_menu, priority=900)
    app.connect("build-finished", write_notebooks)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
