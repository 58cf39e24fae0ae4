"""Shared code for the book *GAN Theory, Hands-On*.

One concept per module: ``runtime`` (profile, device, seed), ``data`` (MNIST and toy
distributions), ``models``, ``losses``, ``train`` (Algorithm 1), ``checkpoints``, ``metrics``
and ``plotting``.
"""
from gan_utils.runtime import by_profile, describe_runtime, get_device, get_profile, seed_everything

__version__ = "0.1.0"

__all__ = ["by_profile", "describe_runtime", "get_device", "get_profile", "seed_everything"]
