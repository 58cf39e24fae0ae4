"""Part III of the book, images (chapters 7-10): DCGAN training tools (``digit_monitor``,
``guideline_ablation``), the latent space (``latent``, ``attributes``), inversion and the GAN prior
(``inversion`` by optimisation, ``encoder_inversion``, ``restoration``), and dissection (``dissection``
measures units, ``unit_interventions`` switches them off or on), with the pixel measures of digit shape
that chapters 8 and 10 share (``digit_shapes``).

Each ``<topic>_plots`` module draws the figures of its chapter. This part may import the core and the
earlier parts.
"""
