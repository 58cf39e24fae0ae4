"""Part II of the book, training dynamics (chapters 5-6): the generator's gradient under the saturating,
non-saturating and least-squares losses (``generator_gradients``), saddle-point dynamics of a bilinear
game (``saddle``), and mode collapse: why the objective allows it (``kl_directions``), how to measure it
(``mode_coverage`` for the 2-D mixtures, ``stacked_mnist``, ``support_size``, whose nearest-neighbour
distances chapter 8 uses too) and three remedies
(``unrolled``, ``pacgan``, ``minibatch_std``).

Each ``<topic>_plots`` module draws the figures of its chapter. This part imports the core and
:mod:`gan_utils.foundations`, never :mod:`gan_utils.images`.
"""
