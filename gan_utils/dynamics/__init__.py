"""Part II of the book, training dynamics (chapters 5, 6 and 11): the generator's gradient under the saturating,
non-saturating and least-squares losses (``generator_gradients``), saddle-point dynamics of a bilinear
game (``saddle``), and mode collapse: why the objective allows it (``kl_directions``), how to measure it
(``mode_coverage`` for the 2-D mixtures, ``stacked_mnist``, ``support_size``, whose nearest-neighbour
distances chapter 8 uses too) and three remedies
(``unrolled``, ``pacgan``, ``minibatch_std``); chapter 11's Wasserstein-1 distance and Lipschitz critics
(``wasserstein``: W1 in 1-D, the critic's dual estimate, weight clipping, spectral normalisation).

Each ``<topic>_plots`` module draws the figures of its chapter. This part imports the core and
:mod:`gan_utils.foundations`, never :mod:`gan_utils.images`.
"""
