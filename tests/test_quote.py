"""gan_utils.pages: glued outputs in the layout myst-nb reads, from a real kernel."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from myst_nb.ext.glue import extract_glue_data

from gan_utils.dynamics.mode_collapse_plots import animate_samples
from gan_utils.pages import _plain, format_table, offline_jshtml, quote, quote_animation, scientific

pytestmark = pytest.mark.slow  # starts a Jupyter kernel


def test_plain_values():
    assert _plain(torch.tensor(0.25)) == 0.25 and isinstance(_plain(torch.tensor(0.25)), float)
    assert _plain(np.int64(7)) == 7 and isinstance(_plain(np.int64(7)), int)
    assert _plain("standard") == "standard"
    with pytest.raises(ValueError, match="one number"):
        _plain(torch.zeros(3))
    with pytest.raises(ValueError, match="non-finite"):
        _plain(float("nan"))
    with pytest.raises(TypeError, match="number or a string"):
        _plain([1, 2])


@pytest.mark.parametrize("value,digits,text", [
    (4.5e-5, 2, "4.5 × 10⁻⁵"), (1.2e-94, 1, "1 × 10⁻⁹⁴"), (-3.14159e3, 3, "-3.14 × 10³"), (0.0, 2, "0"),
    (2.4e-21, 2, "2.4 × 10⁻²¹")])
def test_scientific(value, digits, text):
    assert scientific(value, digits) == text


def test_quote_outside_ipython_returns_the_value():
    assert quote("key", np.float32(0.5)) == 0.5
    with pytest.raises(ValueError, match="identifiers"):
        quote("bad key", 1)


def test_table_escapes_and_checks_widths():
    html = format_table([["<GAN>", "1.0 ± 0.0"]], ["method", "modes"], caption="c")
    assert "&lt;GAN&gt;" in html and "<caption>c</caption>" in html and html.count("<td>") == 2
    with pytest.raises(ValueError, match="every row"):
        format_table([["a"]], ["x", "y"])


def test_myst_nb_reads_what_a_kernel_quotes(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import matplotlib.pyplot as plt, numpy as np\n"
        "from gan_utils.pages import quote, quote_table, quote_figure, quote_profile\n"
        "quote('jsd', np.float64(0.41234)); quote_profile()\n"
        "quote_table('tab', [['GAN', '2.0']], header=['method', 'modes'])\n"
        "fig, ax = plt.subplots(); ax.plot([0, 1]); quote_figure('fig', fig)\n"
        "from gan_utils.pages import quote_animation\n"
        "from gan_utils.dynamics.mode_collapse_plots import animate_samples\n"
        "quote_animation('anim', animate_samples({'GAN': [(s, np.full((5, 2), s / 4)) for s in range(3)]},"
        " np.zeros((1, 2))))")]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    data = extract_glue_data(nb, list(range(len(nb.cells))), _Logger())
    assert set(data) == {"jsd", "profile", "built_on", "tab", "fig", "anim"}
    assert data["jsd"]["data"]["text/plain"] == "0.41234"
    assert data["profile"]["data"]["text/plain"] == "'smoke'"  # tests run in the smoke profile
    assert "<table" in data["tab"]["data"]["text/html"]
    assert "image/png" in data["fig"]["data"]
    anim = data["anim"]["data"]["text/html"]
    assert "<script" in anim and anim.count("data:image/png;base64,") == 3 + 1  # 3 frames + the initial src
    assert "http" not in anim and "font-awesome" not in anim
    shown = [o for o in nb.cells[0].outputs if o.get("output_type") == "display_data"]
    assert sum("image/png" in o["data"] for o in shown) == 1  # the figure shows once, not twice


def _synthetic_frames(n_steps: int = 20) -> dict:
    rng = np.random.default_rng(0)
    return {label: [(step, rng.normal(size=(50, 2)) * (1 + step / 100)) for step in range(0, 10 * n_steps, 10)]
            for label in ("GAN", "PacGAN4")}


def _offline_parser():
    """The parser the offline-book check runs on every built page (tests/book/test_offline_html.py)."""
    path = Path(__file__).parent / "book" / "test_offline_html.py"
    spec = importlib.util.spec_from_file_location("_offline_html", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._Loads()


def test_animation_html_loads_nothing_from_the_network():
    anim = animate_samples(_synthetic_frames(), np.eye(2), dpi=40)
    raw = anim.to_jshtml(fps=2, embed_frames=True)
    parser = _offline_parser()
    parser.feed(raw)
    assert any("//" in url for _, url in parser.urls)  # matplotlib's own player links a CDN stylesheet ...
    html = quote_animation("anim", raw)
    parser = _offline_parser()
    parser.feed(html)
    assert all(url.startswith("data:image/png;base64,") for _, url in parser.urls), parser.urls  # ... ours not
    assert "http" not in html and "fa fa-" not in html and len(html) < 400_000
    assert html.count("data:image/png;base64,") == 12 + 1  # at most 12 frames kept, and the initial src
    # two renders of one animation write the same page: the player's random ids become the key
    again = quote_animation("anim", animate_samples(_synthetic_frames(), np.eye(2), dpi=40).to_jshtml(
        fps=2, embed_frames=True))
    assert again == html and 'id="_anim_img_anim"' in html and not re.search(r"[0-9a-f]{32}", html)
    # the initial src is a valid data URI: no JavaScript line continuations inside the attribute
    src = re.search(r'<img id="_anim_img_anim" src="([^"]*)"', html).group(1)
    assert re.fullmatch(r"data:image/png;base64,[A-Za-z0-9+/=]+", src)
    with pytest.raises(ValueError, match="network"):
        offline_jshtml('<script src="https://cdn.example.org/x.js"></script>')
    with pytest.raises(ValueError, match="same non-empty"):
        animate_samples({"a": [(0, np.zeros((2, 2)))], "b": [(1, np.zeros((2, 2)))]}, np.eye(2))


class _Logger:
    def warning(self, *args, **kwargs):
        raise AssertionError(args)
