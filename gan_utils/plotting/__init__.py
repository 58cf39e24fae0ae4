"""All figures of the book come from this package, in one style.

``core`` holds the style and the figures every chapter uses (image grids, loss histories, 1-D
densities, 2-D scatters); each chapter's own figures live in a module named after its concept
(``density`` for chapter 1, ...). The core and chapter 1 functions are re-exported here.
"""
from gan_utils.plotting.core import COLORS, image_grid, plot_density_1d, plot_history, scatter_2d, set_style, to_unit_range  # noqa: F401
from gan_utils.plotting.density import plot_implicit_samples, plot_mle_fit, plot_pca_spectrum  # noqa: F401
