"""Train the MNIST classifier shipped as gan_utils/assets/mnist_classifier.{safetensors,json}.

    python scripts/train_classifier.py            # the defaults reproduce the shipped file

Trains gan_utils.classifier.MNISTClassifier on the 60 000 MNIST training images (scaled to
[-1, 1] by gan_utils.data.load_mnist), prints the accuracy on the 10 000 test images and the
elapsed time, writes the checkpoint (safetensors + JSON with its sha256) and says whether the
sha256 equals the one recorded in gan_utils.pretrained (i.e. whether the run reproduced the shipped
weights bit for bit). Set GAN_BOOK_DATA to the folder holding MNIST/raw.

Reproducibility, as measured: two full runs of the default command on the same x86_64 CPU with
torch 2.14.1 and one thread gave byte-identical files. The bits depend on the thread count (a
short run with 2 threads differed from 1 thread, though both were reproducible run to run), and
may depend on the CPU, the torch version and its math libraries; a run elsewhere then gives a
classifier of the same accuracy but another sha256 (the script says so). One thread is also the
fastest choice on a shared machine (6-8 minutes on a busy 2-core machine).
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from gan_utils.checkpoints import save_checkpoint  # noqa: E402
from gan_utils.classifier import ClassifierTrainConfig, MNISTClassifierConfig, accuracy, train_classifier  # noqa: E402
from gan_utils.data import load_mnist  # noqa: E402
from gan_utils.pretrained import REGISTRY  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    defaults = ClassifierTrainConfig()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "gan_utils" / "assets" / "mnist_classifier"),
                        help="checkpoint path without suffix (default: the shipped asset)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--max-lr", type=float, default=defaults.max_lr)
    parser.add_argument("--max-shift", type=int, default=defaults.max_shift)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: fastest on a shared machine; "
                             "the bits of the result depend on it)")
    parser.add_argument("--device", default="cpu", help="cpu (reproduces the shipped file) or cuda")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    config = ClassifierTrainConfig(epochs=args.epochs, batch_size=args.batch_size, max_lr=args.max_lr,
                                   weight_decay=defaults.weight_decay, max_shift=args.max_shift, seed=args.seed)
    train = load_mnist(train=True, limit=args.train_limit)
    test = load_mnist(train=False)
    start = time.perf_counter()
    model, losses = train_classifier(train.images, train.labels, config, MNISTClassifierConfig(), device=args.device)
    elapsed = time.perf_counter() - start
    test_acc = accuracy(model, test.images, test.labels)
    print(f"test accuracy: {test_acc:.4f} on {len(test.labels)} images; training took {elapsed:.0f} s "
          f"({args.threads} thread(s), {args.device}, {len(losses)} steps)")

    extra = {"test_accuracy": test_acc, "train_images": len(train.labels), "final_loss": losses[-1],
             "threads": args.threads, "device": args.device, "torch": torch.__version__,
             "platform": platform.machine(), "command": "python scripts/train_classifier.py"}
    sha = save_checkpoint(args.out, models={"classifier": model.cpu()}, config=dataclasses.asdict(config),
                          step=len(losses), extra=extra)
    size = Path(args.out).with_suffix(".safetensors").stat().st_size
    print(f"wrote {args.out}.safetensors ({size / 1e6:.2f} MB), sha256 {sha}")
    try:
        shipped = REGISTRY["mnist-classifier"].sha256
        print("identical to the shipped file: " + ("yes" if sha == shipped else f"NO (shipped {shipped})"))
    except (ImportError, KeyError):
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
