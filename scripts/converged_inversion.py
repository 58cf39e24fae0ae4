#!/usr/bin/env python
"""Chapter 9's converged inversion runs, shipped as ``gan_utils/assets/converged-inversion.json``.

The shipped MNIST DCGAN (``pretrained.load("dcgan-mnist")``) is inverted on ``--n-fake`` of its own samples
(true codes known) and ``--n-real`` MNIST test digits, by Adam for ``--steps`` steps (cosine-decayed
learning rate, :func:`gan_utils.images.inversion.invert`), in rows that change one factor at a time
against the base row "one random start, no clipping, no prior":

Every row starts from the same random codes (one stream, seeded ``--seed`` + 1). The rows:

* ``restarts``: best of ``--restarts`` random starts (all starts one batched (R N, nz) problem);
* ``clipping``: stochastic clipping at a = 4 after every step;
* ``prior``: the Gaussian prior term lambda ||z||^2 / nz with lambda = sigma^2 nz / |O| for a nominal pixel
  noise ``--sigma`` (the MAP weight, book eq. eq-ch09-lambda);
* ``hybrid``: the start E(x) of an encoder trained here for ``--enc-steps`` steps (batch ``--enc-batch``);
* ``encoder``: E(x) alone (no optimisation).

Per row the JSON keeps the mean pixel MSE and the median gradient norm every 10 steps, and per image the final
pixel MSE, the latent errors (relative, per component, and inside / outside the well-conditioned subspace of
dG/dz at the true code, singular values at least ``--fraction`` of the largest), and for the real digits
whether the classifier's label survived. The meta block records the command, git commit, device, torch
version and wall time. Pin the printed sha256 in ``gan_utils.images.inversion.REFERENCE_SHA256``.

    GAN_BOOK_DATA=/path/to/data python scripts/converged_inversion.py
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import subprocess
import time
from pathlib import Path

import torch

from gan_utils import pretrained
from gan_utils.classifier import classify
from gan_utils.data import load_mnist
from gan_utils.images.encoder_inversion import EncoderTrainConfig, encode, train_encoder
from gan_utils.images.inversion import (
    REFERENCE_PATH,
    InversionConfig,
    component_mse,
    invert,
    jacobian_svd,
    psnr,
    relative_latent_error,
    subspace_error,
)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-fake", type=int, default=16)
    p.add_argument("--n-real", type=int, default=16)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--restarts", type=int, default=4)
    p.add_argument("--clip", type=float, default=4.0)
    p.add_argument("--sigma", type=float, default=0.02)
    p.add_argument("--fraction", type=float, default=0.1)
    p.add_argument("--enc-steps", type=int, default=3000)
    p.add_argument("--enc-batch", type=int, default=128)
    p.add_argument("--enc-width", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=REFERENCE_PATH)
    args = p.parse_args(argv)
    # the commit the run starts from (the code that makes the file)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = ""
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    G, _ = pretrained.load("dcgan-mnist")
    clf = pretrained.load("mnist-classifier")
    nz = G.config.nz
    gen = torch.Generator().manual_seed(args.seed)
    z_true = torch.randn(args.n_fake, nz, generator=gen)
    with torch.no_grad():
        x_fake = G(z_true)
    test = load_mnist(train=False)
    x_real = test.images[:args.n_real]
    labels = classify(clf, x_real).probs.argmax(1)
    both = torch.cat([x_fake, x_real])
    svals, vecs = jacobian_svd(G, z_true)

    lam = args.sigma ** 2 * nz / both[0].numel()
    base = InversionConfig(steps=args.steps, lr=args.lr)
    configs = {
        "base": base,
        "restarts": InversionConfig(steps=args.steps, lr=args.lr, restarts=args.restarts),
        "clipping": InversionConfig(steps=args.steps, lr=args.lr, clip=args.clip),
        "prior": InversionConfig(steps=args.steps, lr=args.lr, prior="gauss", prior_weight=lam),
    }
    rows: dict[str, dict] = {}

    def record(name: str, z_hat: torch.Tensor, images: torch.Tensor, history: list[float] | None,
               grads: list[float] | None, seconds: float) -> None:
        zf = z_hat[:args.n_fake]
        inside, outside, k = subspace_error(zf, z_true, svals, vecs, args.fraction)
        rows[name] = {
            "history": history[::10] if history else None, "grad_history": grads[::10] if grads else None,
            "fake_mse": ((images[:args.n_fake] - x_fake) ** 2).flatten(1).mean(1).tolist(),
            "fake_psnr": psnr(images[:args.n_fake], x_fake).tolist(),
            "real_mse": ((images[args.n_fake:] - x_real) ** 2).flatten(1).mean(1).tolist(),
            "real_psnr": psnr(images[args.n_fake:], x_real).tolist(),
            "label_kept": (classify(clf, images[args.n_fake:]).probs.argmax(1) == labels).tolist(),
            "rel_error": relative_latent_error(zf, z_true).tolist(),
            "component_mse": component_mse(zf, z_true).tolist(),
            "inside_error": inside.tolist(), "outside_error": outside.tolist(), "subspace_dim": k.tolist(),
            "seconds": round(seconds, 1)}
        print(f"{name}: PSNR on G's samples {sum(rows[name]['fake_psnr']) / args.n_fake:.1f} dB, "
              f"{seconds:.0f} s", flush=True)

    def starts() -> torch.Generator:
        """Every row draws its random starts from the same stream: the rows differ by their factor only (the first
        start of the best-of-R row is the base row's start)."""
        return torch.Generator().manual_seed(args.seed + 1)

    for name, cfg in configs.items():
        res = invert(G, both, cfg, generator=starts(), progress=True)
        record(name, res.z, res.images, res.history, res.grad_history, res.seconds)
    t0 = time.perf_counter()
    E, enc_hist = train_encoder(G, EncoderTrainConfig(steps=args.enc_steps, batch_size=args.enc_batch,
                                                      width=args.enc_width), "cpu", generator=gen)
    enc_seconds = time.perf_counter() - t0
    z_enc = encode(E, both)
    with torch.no_grad():
        record("encoder", z_enc, G(z_enc), None, None, 0.0)
    res = invert(G, both, base, z_init=z_enc, generator=starts(), progress=True)
    record("hybrid", res.z, res.images, res.history, res.grad_history, res.seconds)

    out = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"}
           | {"prior_weight": lam, "lt_levels": [1e-1, 1e-2, 1e-3, 1e-4, 1e-5]},
           "singular_values": svals.tolist(),
           "encoder_loss": enc_hist["loss"][::10], "encoder_seconds": round(enc_seconds, 1),
           "rows": rows,
           "meta": {"command": "python scripts/converged_inversion.py" + ("" if argv is None else " " + " ".join(argv)),
                    "git_commit": commit, "device": f"cpu ({platform.machine()})", "threads": args.threads,
                    "torch": torch.__version__, "wall_seconds": round(time.perf_counter() - start, 1)}}
    text = json.dumps(out, ensure_ascii=False, separators=(",", ":"),
                      default=lambda v: None if isinstance(v, float) and math.isnan(v) else v) + "\n"
    args.out.write_text(text)
    print(f"wrote {args.out}; sha256 {hashlib.sha256(text.encode()).hexdigest()}")


if __name__ == "__main__":
    main()
