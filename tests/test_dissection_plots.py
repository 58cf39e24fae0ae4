"""The figures of chapter 10 draw what they are given and reject mismatched inputs."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gan_utils.images.dissection_plots import plot_before_after, plot_best_iou, plot_effects  # noqa: E402


def test_best_iou_marks_the_chance_bound_of_every_concept():
    best = {"net.5": {"ink": 0.4, "loops": 0.06}, "net.8": {"ink": 0.33, "loops": 0.04}}
    fig = plot_best_iou(best, shares={"ink": 0.13, "loops": 0.02})
    ax = fig.axes[0]
    assert len(ax.patches) == 4  # two layers x two concepts
    ticks = [c for c in ax.collections if c.get_label().startswith("chance")]
    assert len(ticks) == 1 and len(ticks[0].get_segments()) == 2
    assert ax.get_ylim()[1] < 1.0  # scaled to the bars, not to the IoU's range
    plt.close(fig)
    with pytest.raises(ValueError):
        plot_best_iou(best, shares={"ink": 0.13})


def test_effects_and_before_after_check_their_inputs():
    row = {"mean": -1.0, "sd": 0.5, "ci95": 0.1}
    fig = plot_effects([1, 4], [row, row], [row, row], ylabel="pp", title="t")
    plt.close(fig)
    with pytest.raises(ValueError):
        plot_effects([1, 4], [row], [row, row], ylabel="pp", title="t")
    images = torch.zeros(3, 1, 28, 28)
    fig = plot_before_after({"a": images, "b": images}, n=3, box=(2, 8, 2, 8))
    assert len(fig.axes) == 6
    plt.close(fig)
