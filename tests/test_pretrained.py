"""Tests for gan_utils.pretrained: listing, loading, sha256 pinning, refusing tampered files."""
import json
import shutil

import pytest
import torch

from gan_utils import pretrained
from gan_utils.checkpoints import ChecksumError, save_checkpoint, sha256_of
from gan_utils.classifier import MNISTClassifier
from gan_utils.models import MLP, mlp_discriminator, mlp_generator


def test_available_lists_the_classifier():
    assert "mnist-classifier" in pretrained.available()
    with pytest.raises(KeyError, match="mnist-classifier"):
        pretrained.load("no-such-net")


def test_shipped_files_match_the_pinned_and_recorded_hashes():
    for name, entry in pretrained.REGISTRY.items():
        st = pretrained.ASSETS / f"{entry.stem}.safetensors"
        meta = json.loads((pretrained.ASSETS / f"{entry.stem}.json").read_text())
        assert sha256_of(st) == entry.sha256 == meta["sha256"], name
        assert set(entry.models) <= set(meta["models"]), name


def test_load_classifier_frozen_in_eval_mode():
    clf = pretrained.load("mnist-classifier", device="cpu")
    assert isinstance(clf, MNISTClassifier) and not clf.training
    assert all(not p.requires_grad for p in clf.parameters())
    assert clf(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def _copy_assets(tmp_path, stem):
    for suffix in (".safetensors", ".json"):
        shutil.copy(pretrained.ASSETS / f"{stem}{suffix}", tmp_path / f"{stem}{suffix}")
    return tmp_path / f"{stem}.safetensors", tmp_path / f"{stem}.json"


def test_tampered_copy_is_refused(tmp_path):
    stem = pretrained.REGISTRY["mnist-classifier"].stem
    st, js = _copy_assets(tmp_path, stem)
    assert isinstance(pretrained.load("mnist-classifier", root=tmp_path), MNISTClassifier)  # intact copy loads
    data = bytearray(st.read_bytes())
    data[-3] ^= 0x01  # flip one bit of a weight
    st.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="mnist-classifier"):
        pretrained.load("mnist-classifier", root=tmp_path)
    # re-recording the new hash in the JSON does not help: the hash pinned in the registry still differs
    meta = json.loads(js.read_text())
    meta["sha256"] = sha256_of(st)
    js.write_text(json.dumps(meta))
    with pytest.raises(ChecksumError, match="does not match the expected"):
        pretrained.load("mnist-classifier", root=tmp_path)


def test_a_pair_entry_returns_a_named_tuple(tmp_path, monkeypatch):
    torch.manual_seed(0)
    G, D = mlp_generator(2, 3, (8,)), mlp_discriminator(3, (8,))
    sha = save_checkpoint(tmp_path / "pair", models={"G": G, "D": D})
    entry = pretrained.Pretrained("pair", sha, ("G", "D"), "a toy pair", "none")
    monkeypatch.setitem(pretrained.REGISTRY, "toy-pair", entry)
    out = pretrained.load("toy-pair", root=tmp_path)
    g, d = out
    assert out._fields == ("G", "D") and isinstance(out.G, MLP) and g is out.G and d is out.D
    z = torch.randn(4, 2)
    assert torch.equal(g(z), G(z).detach())


def test_missing_files_and_info(tmp_path):
    with pytest.raises(FileNotFoundError):
        pretrained.load("mnist-classifier", root=tmp_path)
    meta = pretrained.info("mnist-classifier")
    assert meta["command"] == "python scripts/train_classifier.py" and meta["extra"]["test_accuracy"] >= 0.99
