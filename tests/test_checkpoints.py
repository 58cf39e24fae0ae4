"""Tests for gan_utils.checkpoints: round trip, rebuild from file, sha256, atomic writes, no pickle."""
import dataclasses
import hashlib
import json
import pickle
import struct

import pytest
import torch
from safetensors import safe_open

from gan_utils import checkpoints
from gan_utils.checkpoints import ChecksumError, load_checkpoint, save_checkpoint, sha256_of
from gan_utils.models import MLP, mlp_discriminator, mlp_generator
from gan_utils.train import TrainConfig


def _trained_pair(seed=0, steps=3):
    """G, D and their Adam optimizers after a few real updates (so the moments are non-trivial)."""
    torch.manual_seed(seed)
    G, D = mlp_generator(2, 2, (8, 8)), mlp_discriminator(2, (8,))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.SGD(D.parameters(), lr=1e-2, momentum=0.9)
    for _ in range(steps):
        for opt, loss in ((opt_g, G(torch.randn(4, 2)).pow(2).mean()), (opt_d, D(torch.randn(4, 2)).mean())):
            opt.zero_grad()
            loss.backward()
            opt.step()
    return G, D, opt_g, opt_d


def _fresh_pair(seed=1):
    torch.manual_seed(seed)
    G, D = mlp_generator(2, 2, (8, 8)), mlp_discriminator(2, (8,))
    return G, D, torch.optim.Adam(G.parameters(), lr=0.5), torch.optim.SGD(D.parameters(), lr=0.5, momentum=0.1)


def _assert_state_equal(a, b):
    if torch.is_tensor(a):
        assert torch.is_tensor(b) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_state_equal(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_state_equal(x, y)
    else:
        assert a == b


def _save(path, G, D, opt_g, opt_d, **kwargs):
    return save_checkpoint(path, models={"G": G, "D": D}, optimizers={"G": opt_g, "D": opt_d}, **kwargs)


# ------------------------------------------------------------------------------------- round trip
def test_round_trip_restores_weights_optimizers_config_step_extra(tmp_path):
    G, D, opt_g, opt_d = _trained_pair()
    cfg = TrainConfig(steps=100, z_shape=(2,), k=2)
    rng = torch.Generator().manual_seed(42)
    digest = _save(tmp_path / "ck", G, D, opt_g, opt_d, config=cfg, step=17,
                   tensors={"rng_state": rng.get_state(), "fixed_z": torch.randn(3, 2)},
                   extra={"note": "hello", "history": {"d_loss": [1.5, 0.25]}})
    assert digest == sha256_of(tmp_path / "ck.safetensors")

    G2, D2, opt_g2, opt_d2 = _fresh_pair()
    ck = load_checkpoint(tmp_path / "ck", models={"G": G2, "D": D2}, optimizers={"G": opt_g2, "D": opt_d2})
    assert ck.models["G"] is G2 and ck.models["D"] is D2
    _assert_state_equal(G.state_dict(), G2.state_dict())
    _assert_state_equal(D.state_dict(), D2.state_dict())
    # optimizer state: Adam moments + step tensors, SGD momentum buffers, and hyper-parameters
    _assert_state_equal(opt_g.state_dict()["state"], opt_g2.state_dict()["state"])
    _assert_state_equal(opt_d.state_dict()["state"], opt_d2.state_dict()["state"])
    assert opt_g2.param_groups[0]["lr"] == 1e-3 and tuple(opt_g2.param_groups[0]["betas"]) == (0.5, 0.999)
    assert opt_d2.param_groups[0]["lr"] == 1e-2 and opt_d2.param_groups[0]["momentum"] == 0.9
    assert ck.step == 17
    assert TrainConfig(**ck.config) == cfg
    assert ck.extra == {"note": "hello", "history": {"d_loss": [1.5, 0.25]}}
    assert ck.sha256 == digest
    assert set(ck.tensors) == {"rng_state", "fixed_z"}
    assert torch.equal(ck.tensors["rng_state"], rng.get_state())


def test_restored_optimizer_continues_exactly_like_the_original(tmp_path):
    G, D, opt_g, opt_d = _trained_pair()
    _save(tmp_path / "ck", G, D, opt_g, opt_d)
    G2, D2, opt_g2, opt_d2 = _fresh_pair()
    load_checkpoint(tmp_path / "ck", models={"G": G2, "D": D2}, optimizers={"G": opt_g2, "D": opt_d2})
    z = torch.randn(4, 2)
    for model, opt in ((G, opt_g), (G2, opt_g2)):
        opt.zero_grad()
        model(z).pow(2).mean().backward()
        opt.step()
    _assert_state_equal(G.state_dict(), G2.state_dict())


def test_model_rebuilds_from_its_file_alone(tmp_path):
    G, D, _, _ = _trained_pair()
    save_checkpoint(tmp_path / "ck", models={"G": G, "D": D})
    ck = load_checkpoint(tmp_path / "ck")
    G2, D2 = ck.models["G"], ck.models["D"]
    assert isinstance(G2, MLP) and G2.config == G.config and D2.config == D.config
    z = torch.randn(10, 2)
    assert torch.equal(G2(z), G(z))
    assert torch.equal(D2(z), D(z))
    assert ck.step == 0 and ck.config is None and ck.extra == {} and ck.tensors == {}


def test_paths_with_or_without_suffix_name_the_same_checkpoint(tmp_path):
    G, _, _, _ = _trained_pair()
    save_checkpoint(tmp_path / "a.safetensors", models={"G": G})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.safetensors"]
    for name in ("a", "a.json", "a.safetensors"):
        assert torch.equal(load_checkpoint(tmp_path / name).models["G"].net[0].weight, G.net[0].weight)


def test_model_without_config_needs_to_be_passed(tmp_path):
    lin = torch.nn.Linear(2, 3)
    save_checkpoint(tmp_path / "ck", models={"lin": lin})
    with pytest.raises(ValueError, match="no stored config"):
        load_checkpoint(tmp_path / "ck")
    other = torch.nn.Linear(2, 3)
    load_checkpoint(tmp_path / "ck", models={"lin": other})
    assert torch.equal(other.weight, lin.weight) and torch.equal(other.bias, lin.bias)


def test_missing_files_raise_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nothing")
    G, _, _, _ = _trained_pair()
    save_checkpoint(tmp_path / "ck", models={"G": G})
    (tmp_path / "ck.json").unlink()
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "ck")


def test_unsupported_config_type_is_rejected(tmp_path):
    G, _, _, _ = _trained_pair()
    with pytest.raises(TypeError):
        save_checkpoint(tmp_path / "ck", models={"G": G}, config=[1, 2, 3])


# ---------------------------------------------------------------------------------------- sha256
def test_sha256_of_matches_hashlib(tmp_path):
    blob = bytes(range(256)) * 9000  # > 1 MiB: several blocks
    (tmp_path / "f").write_bytes(blob)
    assert sha256_of(tmp_path / "f") == hashlib.sha256(blob).hexdigest()


def test_tampered_safetensors_raises_checksum_error(tmp_path):
    G, D, opt_g, opt_d = _trained_pair()
    _save(tmp_path / "ck", G, D, opt_g, opt_d)
    st = tmp_path / "ck.safetensors"
    raw = bytearray(st.read_bytes())
    raw[-5] ^= 0x01  # flip one bit in the tensor data: still a valid safetensors file
    st.write_bytes(bytes(raw))
    with safe_open(str(st), framework="pt") as fh:  # proves the file itself is still loadable
        assert len(list(fh.keys())) > 0
    with pytest.raises(ChecksumError, match="does not match"):
        load_checkpoint(tmp_path / "ck")


def test_expected_sha256_pins_the_file(tmp_path):
    G, _, _, _ = _trained_pair()
    digest = save_checkpoint(tmp_path / "ck", models={"G": G})
    assert load_checkpoint(tmp_path / "ck", expected_sha256=digest).sha256 == digest
    with pytest.raises(ChecksumError, match="expected"):
        load_checkpoint(tmp_path / "ck", expected_sha256="0" * 64)


def test_same_content_gives_same_hash(tmp_path):
    G, _, _, _ = _trained_pair()
    d1 = save_checkpoint(tmp_path / "one", models={"G": G}, step=3)
    d2 = save_checkpoint(tmp_path / "two", models={"G": G}, step=3)
    assert d1 == d2 and len(d1) == 64


# ---------------------------------------------------------------------------------------- atomic
def test_writes_leave_no_temporary_files(tmp_path):
    G, D, opt_g, opt_d = _trained_pair()
    for step in range(3):  # overwriting an existing checkpoint too
        _save(tmp_path / "sub" / "ck", G, D, opt_g, opt_d, step=step)
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["ck.json", "ck.safetensors"]


def test_a_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    G, _, _, _ = _trained_pair(seed=0)
    old_digest = save_checkpoint(tmp_path / "ck", models={"G": G}, step=1)
    G_new, _, _, _ = _trained_pair(seed=5)

    def crashing_save_file(tensors, filename, *args, **kwargs):
        with open(filename, "wb") as fh:
            fh.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints, "save_file", crashing_save_file)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "ck", models={"G": G_new}, step=2)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.json", "ck.safetensors"]
    ck = load_checkpoint(tmp_path / "ck")
    assert ck.step == 1 and ck.sha256 == old_digest
    assert torch.equal(ck.models["G"].net[0].weight, G.net[0].weight)


# ------------------------------------------------------------------------------------- no pickle
def test_files_contain_no_pickle_and_load_without_unpickling(tmp_path, monkeypatch):
    G, D, opt_g, opt_d = _trained_pair()
    _save(tmp_path / "ck", G, D, opt_g, opt_d, config=TrainConfig(steps=3), step=3,
          tensors={"rng": torch.Generator().get_state()}, extra={"a": [1, 2]})
    st = (tmp_path / "ck.safetensors").read_bytes()
    # safetensors layout: 8-byte little-endian header length, a JSON header, raw tensor bytes
    (header_len,) = struct.unpack("<Q", st[:8])
    header = json.loads(st[8:8 + header_len])
    assert len(st) == 8 + header_len + max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    assert not st.startswith(b"\x80") and b"PK\x03\x04" not in st[:8 + header_len]  # no pickle/zip torch.save
    meta = json.loads((tmp_path / "ck.json").read_text())
    assert meta["step"] == 3 and meta["format"] == checkpoints.FORMAT_VERSION

    def forbidden(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    for mod, name in ((torch, "load"), (pickle, "load"), (pickle, "loads"), (pickle, "Unpickler")):
        monkeypatch.setattr(mod, name, forbidden)
    G2, D2, opt_g2, opt_d2 = _fresh_pair()
    ck = load_checkpoint(tmp_path / "ck", models={"G": G2, "D": D2}, optimizers={"G": opt_g2, "D": opt_d2})
    assert ck.step == 3
    assert torch.equal(G2.net[0].weight, G.net[0].weight)


def test_config_dict_is_json_safe(tmp_path):
    G, _, _, _ = _trained_pair()
    cfg = TrainConfig(steps=5, z_shape=(3, 1, 1))
    save_checkpoint(tmp_path / "ck", models={"G": G}, config=cfg)
    stored = json.loads((tmp_path / "ck.json").read_text())["config"]
    assert stored == json.loads(json.dumps(dataclasses.asdict(cfg)))
    assert TrainConfig(**stored) == cfg
