"""Shared code for the book *GAN Theory, Hands-On*.

The package has a ground floor and one floor per part of the book; a module imports only from its
own floor and the floors below (``tests/test_layout.py`` checks this from the import graph).

* **Core** (the modules directly in ``gan_utils``), used by every chapter: ``runtime`` (profile,
  device, seed), ``data`` (MNIST and the toy distributions), ``models`` (MLPs, the model registry,
  ``generate``), ``dcgan`` (the DCGAN of chapter 7), ``losses``, ``step`` (one iteration of
  Algorithm 1), ``train`` (the harness around it), ``ensemble`` (many seeds of a small network trained
  at once as one batched network), ``resume`` (a run checkpointed and resumed
  bit-identically), ``fixed_opponent`` (one player trained against a fixed other), ``checkpoints``,
  ``distributed``, ``classifier`` and ``pretrained`` (the shipped networks), ``digit_metrics``
  (generated digits scored by the classifier), ``plotting`` (the style and the figures every
  chapter uses) and ``pages`` (what a chapter page quotes from its notebook: glued numbers, tables,
  figures).
* :mod:`gan_utils.foundations` -- part I, chapters 1-4: ``density``, ``minimax``,
  ``optimal_discriminator``, ``divergences``.
* :mod:`gan_utils.dynamics` -- part II, chapters 5, 6 and 11: ``generator_gradients``, ``saddle``,
  ``kl_directions``, ``mode_coverage``, ``stacked_mnist``, ``support_size``, ``unrolled``, ``pacgan``,
  ``minibatch_std``, ``wasserstein``.
* :mod:`gan_utils.images` -- part III, chapters 7-10: ``digit_monitor``, ``guideline_ablation``,
  ``latent``, ``attributes``, ``inversion``, ``encoder_inversion``, ``restoration``,
  ``digit_shapes``, ``dissection``, ``unit_interventions``.

One concept per module; each part keeps its figures beside its computations, in ``<topic>_plots``
modules.
"""
from gan_utils.runtime import by_profile, describe_runtime, get_device, get_profile, seed_everything

__version__ = "0.1.0"

__all__ = ["by_profile", "describe_runtime", "get_device", "get_profile", "seed_everything"]
