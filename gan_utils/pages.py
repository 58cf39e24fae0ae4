"""What a chapter page quotes from its notebook: numbers, text, tables and figures, glued by key.

Every measured result a page of the book shows is pasted from the executed notebook with myst-nb's
glue mechanism, so a page never disagrees with its own build (results differ between CPUs, GPUs and
profiles). In a notebook::

    quote("ring_modes_gan", modes.mean())            # a number (tensors/NumPy scalars become floats)
    quote("pacgan_verdict", "more" if ok else "no more")   # profile-aware words
    quote_table("ring_table", rows, header=["method", "modes"])   # shown here, pasted on the page
    quote_figure("ring_samples", fig)                 # shown here, pasted on the page
    quote_profile()                                   # the key ``profile``: which profile built it
    quote_animation("ring_anim", anim)                # a self-contained HTML player (offline book)

and on the page ``{glue:text}`../notebooks/ch06_mode_collapse.ipynb::ring_modes_gan:.1f``` (myst-nb
needs the format spec when a path is given), ``{glue}`` with ``:doc:`` for a table or an animation, and the book's
``{glued-figure}`` directive (``book/_ext/glued_figure.py``) for a captioned, numbered figure.

The output has the layout of ``myst_nb.glue`` (a display whose metadata holds ``scrapbook``), written
here with IPython alone so that a notebook also runs where myst-nb is not installed (Colab). Outside
IPython (a plain script) the calls only return the value. ``tests/test_pages.py`` fails when a chapter
page types a measured number instead of quoting it.
"""
from __future__ import annotations

import html
import numbers
import re
from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from gan_utils.runtime import get_device, get_profile

#: myst-nb's prefix for glued outputs that are stored but not displayed in the notebook.
HIDDEN_PREFIX = "application/papermill.record/"


def _plain(value: Any) -> Any:
    """A Python scalar or string for a NumPy/PyTorch scalar; raises on arrays (quote one number)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"quote() takes one number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"quote() takes one number, got an array of shape {value.shape}")
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (numbers.Number, str)):
        raise TypeError(f"quote() takes a number or a string, got {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"refusing to quote a non-finite number ({value})")
        return value
    return value


def _display(key: str, bundle: dict[str, Any], show: bool) -> None:
    if not key.isidentifier():
        raise ValueError(f"glue keys are Python identifiers; got {key!r}")
    try:  # IPython is not a dependency of the package: it comes with Jupyter, where quotes go
        from IPython import get_ipython  # noqa: PLC0415
        from IPython.display import display  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        return
    if get_ipython() is None:
        return
    prefix = "" if show else HIDDEN_PREFIX
    display({prefix + mime: data for mime, data in bundle.items()}, raw=True,
            metadata={"scrapbook": {"name": key, "mime_prefix": prefix}})


def quote(key: str, value: Any) -> Any:
    """Glue one number or string under ``key`` (not displayed) and return it as a plain Python value."""
    plain = _plain(value)
    _display(key, {"text/plain": repr(plain)}, show=False)
    return plain


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def scientific(value: float, digits: int = 2) -> str:
    """A number as text in scientific notation for a page: ``4.5e-05 -> '4.5 × 10⁻⁵'`` (``digits`` significant).

    Glue the string (``quote("grad", scientific(g))``, pasted with ``:s``): myst-nb's format specs
    cannot write a power of ten.
    """
    value = float(_plain(value))
    if digits < 1:
        raise ValueError(f"need at least one significant digit, got {digits}")
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa} × 10" + str(int(exponent)).translate(_SUPERSCRIPT)


def quote_profile(device: torch.device | None = None) -> str:
    """Glue ``profile`` (e.g. ``standard``) and ``built_on`` (e.g. ``cpu``) for the page's "built with" line."""
    profile = get_profile()
    quote("profile", profile)
    quote("built_on", str(device or get_device()))
    return profile


def format_table(rows: Sequence[Sequence[Any]], header: Sequence[str], *, caption: str | None = None) -> str:
    """An HTML table (the theme's ``table`` class) with every cell escaped; floats are already strings."""
    if any(len(row) != len(header) for row in rows):
        raise ValueError(f"every row needs {len(header)} cells, one per header column")
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<table class="table">{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def quote_table(key: str, rows: Sequence[Sequence[Any]], header: Sequence[str], *,
                caption: str | None = None) -> str:
    """Show a table in the notebook and glue it under ``key``; returns its HTML.

    Format the numbers before (``f"{x:.2f} ± {s:.2f}"``): the page shows exactly these strings.
    """
    table = format_table(rows, header, caption=caption)
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    text = "\n".join("  ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in [header, *rows])
    _display(key, {"text/html": table, "text/plain": text}, show=True)
    return table


def quote_figure(key: str, fig: Any) -> None:
    """Show a matplotlib figure in the notebook and glue it under ``key`` (the page pastes the same PNG)."""
    try:
        from IPython.core.formatters import format_display_data  # noqa: PLC0415 - see _display
    except ImportError:  # pragma: no cover
        plt.close(fig)
        return
    bundle, _ = format_display_data(fig)
    _display(key, bundle, show=True)
    plt.close(fig)


# Font Awesome icons of matplotlib's jshtml player -> plain characters (its stylesheet comes from a CDN).
_FA_GLYPHS = {"fa-minus": "&minus;", "fa-plus": "+", "fa-fast-backward": "|&#9664;&#9664;",
              "fa-step-backward": "|&#9664;", "fa-play fa-flip-horizontal": "&#9664;", "fa-pause": "&#10074;&#10074;",
              "fa-play": "&#9654;", "fa-step-forward": "&#9654;|", "fa-fast-forward": "&#9654;&#9654;|"}
_FA_ICON = re.compile(r'<i class="fa ([^"]*)"\s*>\s*</i>')
_FA_LINK = re.compile(r'<link[^>]*font-awesome[^>]*>', re.IGNORECASE)
_URL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)


def offline_jshtml(html_text: str, name: str | None = None) -> str:
    """matplotlib's ``Animation.to_jshtml()`` made self-contained and reproducible.

    matplotlib's player links Font Awesome from a CDN for its button icons; the link is removed and each
    icon replaced by plain characters. The player's first frame is also set as the image's initial
    ``src`` (a ``data:`` URI without the JavaScript line continuations of the frame list), so the page
    shows a picture before its script runs. The player's random element ids (a ``uuid4``) are replaced by
    ``name`` (letters, digits and ``_`` kept), so two builds write the same page. Raises ``ValueError``
    if anything that looks like a network address is left (e.g. a matplotlib version with a new CDN).
    """
    out = _FA_LINK.sub("", html_text)
    if name is not None:
        uid = re.search(r'_anim_img([0-9a-f]{32})"', out)
        if uid:
            out = out.replace(uid.group(1), "_" + re.sub(r"\W", "_", name))

    def glyph(m: re.Match) -> str:
        if m.group(1).strip() not in _FA_GLYPHS:
            raise ValueError(f"unknown player icon {m.group(1)!r}: extend pages._FA_GLYPHS")
        return f'<span aria-hidden="true">{_FA_GLYPHS[m.group(1).strip()]}</span>'

    out = _FA_ICON.sub(glyph, out)
    first = re.search(r'frames\[0\] = "(data:image/[a-z]+;base64,[^"]*)"', out)
    if first:
        src = re.sub(r"\\\s*", "", first.group(1))  # the frame is a JS string continued with backslashes
        out = re.sub(r'(<img id="_anim_img[^"]*")', lambda m: f'{m.group(1)} src="{src}"', out, count=1)
    left = _URL.findall(out)
    if left:
        raise ValueError(f"the animation HTML still references the network: {left[:3]}")
    return out


def quote_html(key: str, html_text: str, text: str = "<HTML output>") -> str:
    """Show raw HTML in the notebook and glue it under ``key`` (the page pastes it with ``{glue}``)."""
    _display(key, {"text/html": html_text, "text/plain": text}, show=True)
    return html_text


def quote_animation(key: str, anim_or_html: Any, *, fps: float | None = 2.0) -> str:
    """Glue a matplotlib animation as a self-contained player (inline JS, frames as base64 PNGs).

    ``anim_or_html`` is a ``matplotlib.animation.Animation`` (rendered with ``to_jshtml(embed_frames=True)``,
    its figure closed afterwards; keep it small: dpi 72-80, about 12 frames) or HTML from ``to_jshtml``. The
    HTML goes through :func:`offline_jshtml` so the offline book loads nothing from another host. On a page::

        ```{glue} key
        :doc: ../notebooks/X.ipynb
        ```
    """
    if isinstance(anim_or_html, str):
        raw = anim_or_html
    elif hasattr(anim_or_html, "to_jshtml"):
        raw = anim_or_html.to_jshtml(fps=fps, embed_frames=True, default_mode="loop")
        fig = getattr(anim_or_html, "_fig", None)
        if fig is not None:
            plt.close(fig)
    else:
        raise TypeError("quote_animation() takes a matplotlib Animation or its HTML, "
                        f"got {type(anim_or_html).__name__}")
    return quote_html(key, offline_jshtml(raw, name=key), text=f"<animation {key}>")
