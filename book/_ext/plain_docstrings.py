"""Sphinx extension for the API reference: show gan_utils' docstrings as written.

The package's docstrings are plain text with ASCII mathematics (``|x|``, ``E_z[...]``, ``a*b``),
meant to be read in an editor or with ``help()``. reStructuredText would read ``|...|`` as a
substitution and ``*`` as emphasis, so each docstring is rendered as a literal block instead:
monospace, line breaks and alignment kept, nothing reinterpreted.
"""


def _as_literal_block(app, what, name, obj, options, lines):
    if not any(line.strip() for line in lines):
        return
    body = ["    " + line if line.strip() else "" for line in lines]
    lines[:] = ["::", ""] + body + [""]


def setup(app):
    app.connect("autodoc-process-docstring", _as_literal_block)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
