"""Part I of the book, foundations (chapters 1-4): explicit and implicit densities and maximum
likelihood (``density``), the minimax game (``minimax``), the optimal discriminator
(``optimal_discriminator``), and the divergences behind the global optimum (``divergences``).

Each ``<concept>_plots`` module draws the figures of its concept; ``errata_plots`` those of the errata
page. This part imports only the core (the modules directly in :mod:`gan_utils`).
"""
