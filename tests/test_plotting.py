"""Tests for gan_utils.plotting (core functions): each returns a Figure with labelled axes."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gan_utils import plotting  # noqa: E402
from gan_utils.plotting import (  # noqa: E402
    COLORS,
    image_grid,
    plot_density_1d,
    plot_history,
    scatter_2d,
    set_style,
    to_unit_range,
)
from gan_utils.train import History


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_to_unit_range_maps_minus_one_to_zero_and_one_to_one():
    x = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0, -3.0, 7.0], requires_grad=True)
    y = to_unit_range(x)
    torch.testing.assert_close(y, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0, 0.0, 1.0]), rtol=0, atol=0)
    assert y.dtype == torch.float32 and not y.requires_grad and y.device.type == "cpu"
    assert to_unit_range(torch.tensor([-1, 1], dtype=torch.float64)).dtype == torch.float32


def test_image_grid_returns_figure_with_the_images_in_unit_range():
    images = torch.linspace(-1, 1, 10 * 28 * 28).reshape(10, 1, 28, 28)
    fig = image_grid(images, nrow=4, title="samples")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "samples"
    (im,) = ax.get_images()
    arr = np.asarray(im.get_array())
    # make_grid: 3 rows x 4 columns of 28 px tiles with 2 px padding: (2 + 3*30) x (2 + 4*30) px, RGB
    assert arr.shape == (2 + 3 * 30, 2 + 4 * 30, 3)
    assert arr.min() >= 0.0 and arr.max() <= 1.0
    # the first tile's first pixel is image 0's pixel (0, 0) = -1 -> 0; padding is white (1)
    assert arr[2, 2, 0] == pytest.approx(0.0, abs=1e-6)
    assert arr[0, 0, 0] == 1.0


def test_image_grid_draws_into_a_given_axes():
    fig, ax = plt.subplots()
    out = image_grid(torch.zeros(2, 1, 8, 8), ax=ax)
    assert out is fig and len(ax.get_images()) == 1


@pytest.mark.parametrize("shape", [(1, 28, 28), (28, 28), (2, 1, 1, 28, 28)])
def test_image_grid_rejects_non_4d_input(shape):
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        image_grid(torch.zeros(shape))


def _history(n=20):
    steps = list(range(1, n + 1))
    return {"step": steps, "d_loss": [1.3] * n, "g_loss": [0.7] * n, "d_real": [0.6] * n, "d_fake": [0.4] * n,
            "grad_norm_d": [1.0] * n, "grad_norm_g": [1.0] * n}


def test_plot_history_from_dict_and_from_history_object():
    for h in (_history(), History(**_history())):
        fig = plot_history(h, title="run")
        assert isinstance(fig, Figure)
        ax_l, ax_d = fig.axes
        assert ax_l.get_xlabel() == "generator step" and ax_l.get_ylabel() == "loss (nats)"
        assert ax_d.get_xlabel() == "generator step" and ax_d.get_ylabel() == "discriminator output"
        labels = [line.get_label() for line in ax_l.get_lines()]
        assert labels == ["d_loss", "g_loss"]
        np.testing.assert_array_equal(ax_l.get_lines()[0].get_ydata(), [1.3] * 20)
        # the equilibrium line at 1/2
        assert any(np.allclose(line.get_ydata(), 0.5) for line in ax_d.get_lines())
        assert fig._suptitle.get_text() == "run"
        plt.close(fig)


def test_plot_history_custom_keys():
    fig = plot_history(_history(), keys=("grad_norm_d",))
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["grad_norm_d"]


def test_plot_density_1d_with_and_without_discriminator():
    x = np.linspace(-3, 3, 50)
    p = np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)
    fig = plot_density_1d(x, p, p_g=p * 0.9, samples=np.random.default_rng(0).normal(size=200), title="t")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "density" and ax.get_title() == "t"
    assert len(ax.get_lines()) == 2 and ax.get_legend() is not None
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), p)

    fig = plot_density_1d(x, p, d=np.full_like(x, 0.5))
    assert len(fig.axes) == 2
    ax_d = fig.axes[1]
    assert ax_d.get_ylabel() == "D(x)" and ax_d.get_ylim() == (0.0, 1.05)
    legend_texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "D(x)" in legend_texts


def test_scatter_2d_labels_and_data():
    samples = torch.randn(100, 2)
    means = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    fig = scatter_2d(samples, means, title="ring")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$" and ax.get_title() == "ring"
    pts, mus = ax.collections
    np.testing.assert_allclose(pts.get_offsets(), samples.numpy())
    np.testing.assert_allclose(mus.get_offsets(), means.numpy())
    assert isinstance(scatter_2d(np.zeros((3, 2))), Figure)


def test_set_style_updates_rcparams():
    with matplotlib.rc_context():
        set_style()
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert matplotlib.rcParams["axes.grid"] is True
    assert set(COLORS) >= {"data", "generator", "discriminator"}
    assert plotting.to_unit_range is to_unit_range
