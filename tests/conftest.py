"""Shared test setup: a fixed profile and the data folder of the project's machines."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GAN_BOOK_PROFILE", "smoke")
_shared = ROOT.parent / "shared" / "data"
if "GAN_BOOK_DATA" not in os.environ and (_shared / "MNIST" / "raw").is_dir():
    os.environ["GAN_BOOK_DATA"] = str(_shared)
