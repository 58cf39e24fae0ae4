"""Tests for gan_utils.dynamics.mode_collapse_plots: each function returns a Figure of the expected layout."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gan_utils.dynamics.mode_collapse_plots import plot_final_samples, plot_samples_over_training  # noqa: E402


def test_plot_final_samples_grid_of_benchmarks_and_methods():
    g = torch.Generator().manual_seed(0)
    means = {"ring": torch.tensor([[1.0, 0.0], [0.0, 1.0]]), "grid": torch.tensor([[-2.0, -2.0], [2.0, 2.0]])}
    samples = {"ring": {"GAN": torch.randn(200, 2, generator=g), "PacGAN2": torch.randn(200, 2, generator=g)},
               "grid": {"GAN": torch.zeros(50, 2)}}  # a collapsed sample set: no KDE, still drawn
    fig = plot_final_samples(samples, means, {"ring": 1.5, "grid": 5.5})
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 4
    assert axes[0].get_title() == "GAN" and axes[1].get_title() == "PacGAN2"
    assert not axes[3].axison  # grid has no PacGAN2 panel
    assert axes[2].get_xlim() == (-5.5, 5.5)
    plt.close(fig)


def test_plot_samples_over_training_layout():
    snaps = {"GAN": [(10, torch.randn(100, 2)), (20, torch.randn(100, 2))]}
    fig = plot_samples_over_training(snaps, torch.zeros(1, 2), lim=2.0)
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "GAN, step 20"
    plt.close(fig)
