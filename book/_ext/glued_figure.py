"""Sphinx extension: a numbered, captioned figure whose image is glued from another notebook.

myst-nb 1.4 pastes across documents only with the ``{glue}`` directive (its ``:doc:`` option),
which gives a bare image: no caption, no number, no label to ``{numref}``. Its ``{glue:figure}``
has the caption but reads only the page's own glue data. This directive joins the two:

    ```{glued-figure} ../notebooks/ch06_mode_collapse.ipynb::ring_samples
    :name: fig-ch06-ring
    The ring after training, one panel per method.
    ```

It builds a figure node around myst-nb's pending cross-document reference; myst-nb's own
post-transform later swaps the reference for the image, and warns (so ``-W`` fails the build) when
the notebook did not glue the key. The notebook must also display the figure (``glue(...,
display=True)``, the default), which writes the image file the reference points to.
"""
from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import directives
from myst_nb.ext.glue.utils import PendingGlueReferenceError, create_pending_glue_ref
from sphinx.util.docutils import SphinxDirective


class GluedFigure(SphinxDirective):
    required_arguments = 1  # path/to/notebook.ipynb::key
    has_content = True
    option_spec = {"name": directives.unchanged, "width": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        doc, sep, key = self.arguments[0].partition("::")
        if not sep or not doc or not key:
            raise self.error(f"glued-figure wants `notebook_path::key`, got {self.arguments[0]!r}")
        try:
            ref = create_pending_glue_ref(self.state.document, self.env.docname, self.lineno, doc, key)
        except PendingGlueReferenceError as exc:
            raise self.error(str(exc)) from exc
        figure = nodes.figure("", ref)
        if "width" in self.options:
            figure["width"] = self.options["width"]
        self.set_source_info(figure)
        if "name" in self.options:
            self.add_name(figure)
        if self.content:
            holder = nodes.Element()
            self.state.nested_parse(self.content, self.content_offset, holder)
            first = holder[0]
            if not isinstance(first, nodes.paragraph):
                raise self.error("the caption of a glued-figure must be a paragraph")
            caption = nodes.caption(first.rawsource, "", *first.children)
            caption.source, caption.line = first.source, first.line
            figure += caption
            if len(holder) > 1:
                figure += nodes.legend("", *holder[1:])
        return [figure]


def setup(app):
    app.add_directive("glued-figure", GluedFigure)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
