"""gan_utils.pages: glued outputs in the layout myst-nb reads, from a real kernel."""
from __future__ import annotations

import nbformat
import numpy as np
import pytest
import torch
from myst_nb.ext.glue import extract_glue_data

from gan_utils.pages import _plain, format_table, quote, scientific

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
        "fig, ax = plt.subplots(); ax.plot([0, 1]); quote_figure('fig', fig)")]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    data = extract_glue_data(nb, list(range(len(nb.cells))), _Logger())
    assert set(data) == {"jsd", "profile", "built_on", "tab", "fig"}
    assert data["jsd"]["data"]["text/plain"] == "0.41234"
    assert data["profile"]["data"]["text/plain"] == "'smoke'"  # tests run in the smoke profile
    assert "<table" in data["tab"]["data"]["text/html"]
    assert "image/png" in data["fig"]["data"]
    shown = [o for o in nb.cells[0].outputs if o.get("output_type") == "display_data"]
    assert sum("image/png" in o["data"] for o in shown) == 1  # the figure shows once, not twice


class _Logger:
    def warning(self, *args, **kwargs):
        raise AssertionError(args)
