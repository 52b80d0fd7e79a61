"""Numbers in the text are written for people: ``1.1×10⁻⁵``, never ``1.1e-05``.

A glued value formatted with an ``e`` spec (``{glue:text}`name:.1e```), or one that
Python prints in e-notation on its own, comes out of myst-nb as ``1.1e-05``. This
post-transform rewrites every such number in pasted glue text with
:func:`cnnbook.viz.humanize`; ``tests/test_book_prose.py`` holds every page to it.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform


class HumanNumbers(SphinxPostTransform):
    default_priority = 400

    def run(self, **kwargs) -> None:
        from cnnbook.viz import humanize

        for node in self.document.findall(nodes.inline):
            if "pasted-text" not in node.get("classes", []):
                continue
            for text in list(node.findall(nodes.Text)):
                new = humanize(text.astext())
                if new != text.astext():
                    text.parent.replace(text, nodes.Text(new))


def setup(app):
    app.add_post_transform(HumanNumbers)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
