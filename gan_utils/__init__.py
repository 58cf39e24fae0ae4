"""Shared code for the book *GAN Theory, Hands-On*.

One concept per module. The core: ``runtime`` (profile, device, seed), ``data`` (MNIST and toy
distributions), ``models`` (MLPs, DCGAN), ``losses``, ``train`` (Algorithm 1), ``distributed``,
``checkpoints``, ``metrics``, ``classifier`` and ``pretrained`` (the shipped networks), and
``plotting`` (all figures). Each chapter adds the modules of its own concepts: ``density``,
``minimax``, ``optimal_discriminator``, ``divergences``, ``generator_gradients``, ``saddle``,
``collapse_mechanisms``, ``remedies``, ``benchmarks2d``, ``support_size``, ``stacked_mnist``,
``monitor``, ``guideline_ablation``, ``latent``, ``attributes``, ``inversion``, ``restoration``,
``concepts`` and ``dissection``.
"""
from gan_utils.runtime import by_profile, describe_runtime, get_device, get_profile, seed_everything

__version__ = "0.1.0"

__all__ = ["by_profile", "describe_runtime", "get_device", "get_profile", "seed_everything"]
