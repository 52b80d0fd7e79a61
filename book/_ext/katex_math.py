"""Formulas typeset while the book is built (KaTeX under node): pages carry HTML, not TeX.

A Sphinx math renderer (``html_math_renderer = "katex_static"``). Every inline and
display formula goes through one node process running the vendored
``_static/katex/katex.min.js`` (``book/_ext/katex_render.js``); the page gets KaTeX's
HTML and MathML, and loads only ``katex.min.css`` and the fonts its formulas use. No
script typesets anything in the reader's browser, so a page's maths is ready as soon
as its fonts are. A formula KaTeX cannot typeset is a build warning (so ``-W`` fails)
and shows as its TeX.
"""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import threading
from pathlib import Path

from docutils import nodes
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
CSS = "katex/katex.min.css"
#: Fonts nearly every formula needs: fetched with the stylesheet, not after it.
PRELOAD = ("katex/fonts/KaTeX_Main-Regular.woff2", "katex/fonts/KaTeX_Math-Italic.woff2")


class KatexProcess:
    """One node process answering one JSON line per formula, started on first use."""

    def __init__(self, katex_js: Path):
        self.katex_js = katex_js
        self.proc = None
        self.lock = threading.Lock()
        self.cache: dict = {}

    def _start(self):
        node = shutil.which("node") or shutil.which("nodejs")
        if node is None:
            raise RuntimeError("node is needed to typeset the formulas (apt-get install -y nodejs)")
        if not self.katex_js.exists():
            raise RuntimeError(f"{self.katex_js} is missing: run scripts/vendor-web-assets.sh")
        self.proc = subprocess.Popen(
            [node, str(HERE / "katex_render.js"), str(self.katex_js)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
            bufsize=1)
        atexit.register(self.close)

    def render(self, tex: str, display: bool) -> tuple[str | None, str | None]:
        """``(html, None)``, or ``(None, error)`` when KaTeX refuses the formula."""
        key = (tex, display)
        with self.lock:
            if key not in self.cache:
                if self.proc is None or self.proc.poll() is not None:
                    self._start()
                self.proc.stdin.write(json.dumps({"tex": tex, "display": display}) + "\n")
                self.proc.stdin.flush()
                answer = json.loads(self.proc.stdout.readline())
                self.cache[key] = (answer.get("html"), answer.get("error"))
            return self.cache[key]

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


def _typeset(translator, node, tex: str, display: bool) -> str:
    html, error = translator.builder.katex.render(tex, display)
    if error is None:
        return html
    logger.warning(f"KaTeX cannot typeset {tex!r}: {error}", location=node)
    return translator.encode(tex)


def visit_math(self, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(_typeset(self, node, node.astext(), False) + "</span>")
    raise nodes.SkipNode


def _display_tex(node: nodes.math_block) -> str:
    """The TeX of a display block, as Sphinx's MathJax renderer would wrap it."""
    if node["nowrap"]:
        return node.astext()
    parts = [p for p in node.astext().split("\n\n") if p.strip()]
    if len(parts) > 1:
        return r"\begin{aligned}" + r"\\".join(parts) + r"\end{aligned}"
    part = parts[0] if parts else ""
    if r"\\" in part and r"\begin" not in part:
        return r"\begin{aligned}" + part + r"\end{aligned}"
    return part


def visit_displaymath(self, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    self.body.append(_typeset(self, node, _display_tex(node), True) + "</div>\n")
    raise nodes.SkipNode


def add_stylesheet(app, pagename, templatename, context, doctree) -> None:
    """KaTeX's stylesheet, and its two commonest fonts preloaded, on the pages that have
    formulas."""
    if app.builder.format != "html" or app.builder.math_renderer_name != "katex_static":
        return
    domain = app.env.get_domain("math")
    if domain.has_equations(pagename) or (doctree and doctree.next_node(nodes.math)):
        app.builder.add_css_file(CSS)
        links = "".join(
            f'<link rel="preload" href="{context["pathto"]("_static/" + font, 1)}" as="font" '
            f'type="font/woff2" crossorigin>' for font in PRELOAD)
        context["metatags"] = context.get("metatags", "") + links


def attach(app) -> None:
    static = [Path(app.confdir) / p for p in app.config.html_static_path]
    found = [p / "katex" / "katex.min.js" for p in static
             if (p / "katex" / "katex.min.js").exists()]
    app.builder.katex = KatexProcess(found[0] if found else static[0] / "katex" / "katex.min.js")


def setup(app):
    app.add_html_math_renderer("katex_static", (visit_math, None), (visit_displaymath, None))
    app.connect("builder-inited", attach)
    app.connect("html-page-context", add_stylesheet)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": False}
