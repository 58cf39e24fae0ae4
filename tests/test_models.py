"""Tests for gan_utils.models: MLP shapes, config validation, the registry and rebuilding."""
import dataclasses
import json

import pytest
import torch
from torch import nn

from gan_utils import models
from gan_utils.models import (
    ACTIVATIONS,
    MLP,
    MODEL_REGISTRY,
    MLPConfig,
    build_model,
    count_parameters,
    mlp_discriminator,
    mlp_generator,
    register_model,
)


@pytest.mark.parametrize("batch", [1, 7])
def test_generator_and_discriminator_output_shapes(batch):
    G = mlp_generator(z_dim=3, data_dim=2, hidden=(16, 8))
    D = mlp_discriminator(data_dim=2, hidden=(16,))
    z = torch.randn(batch, 3)
    x = G(z)
    assert x.shape == (batch, 2) and x.dtype == torch.float32
    logits = D(x)
    assert logits.shape == (batch, 1)


def test_discriminator_returns_unbounded_logits_not_probabilities():
    torch.manual_seed(0)
    D = mlp_discriminator(1, hidden=(8,))
    with torch.no_grad():
        D.net[-1].bias.fill_(5.0)  # a logit of ~5 would be impossible for a sigmoid output
        out = D(torch.zeros(4, 1))
    assert (out > 1.0).all()


@pytest.mark.parametrize("shape", [(4,), (4, 3), (4, 2, 1), (2, 1, 28, 28)])
def test_wrong_input_shape_raises(shape):
    D = mlp_discriminator(data_dim=2)
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        D(torch.zeros(shape))


def test_mlp_layer_structure_and_parameter_count():
    cfg = MLPConfig(in_dim=3, out_dim=2, hidden=(5, 4), activation="tanh")
    net = MLP(cfg)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(3, 5), (5, 4), (4, 2)]
    assert sum(isinstance(m, nn.Tanh) for m in net.modules()) == 2  # no activation after the last layer
    # closed form: sum over layers of (fan_in * fan_out + fan_out)
    assert count_parameters(net) == (3 * 5 + 5) + (5 * 4 + 4) + (4 * 2 + 2)
    net.net[0].weight.requires_grad_(False)
    assert count_parameters(net) == (3 * 5 + 5) + (5 * 4 + 4) + (4 * 2 + 2) - 15


def test_mlp_without_hidden_layers_is_affine():
    net = MLP(MLPConfig(in_dim=2, out_dim=1, hidden=()))
    x = torch.randn(10, 2)
    lin = net.net[0]
    torch.testing.assert_close(net(x), x @ lin.weight.T + lin.bias)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_builds_and_runs(name):
    net = MLP(MLPConfig(2, 1, (4,), name))
    assert torch.isfinite(net(torch.randn(3, 2))).all()


def test_leaky_relu_slope_is_0_2():
    act = ACTIVATIONS["leaky_relu"]()
    torch.testing.assert_close(act(torch.tensor([-1.0, 2.0])), torch.tensor([-0.2, 2.0]))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(in_dim=0, out_dim=1), "positive"),
        (dict(in_dim=2, out_dim=-1), "positive"),
        (dict(in_dim=2, out_dim=1, hidden=(8, 0)), "positive"),
        (dict(in_dim=2, out_dim=1, activation="sigmoidish"), "unknown"),
    ],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLPConfig(**kwargs)


def test_config_is_frozen_and_lists_become_tuples():
    cfg = MLPConfig(2, 1, [8, 8])
    assert cfg.hidden == (8, 8) and isinstance(cfg.hidden, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.in_dim = 3  # type: ignore[misc]
    hash(cfg)  # frozen + tuples: hashable


def test_build_model_round_trip_through_json_gives_identical_network():
    torch.manual_seed(0)
    original = mlp_generator(4, 2, hidden=(8, 6), activation="elu")
    fields = json.loads(json.dumps(dataclasses.asdict(original.config)))  # tuples -> lists, as on disk
    rebuilt = build_model(type(original).__name__, fields)
    assert isinstance(rebuilt, MLP)
    assert rebuilt.config == original.config
    rebuilt.load_state_dict(original.state_dict())
    z = torch.randn(5, 4)
    assert torch.equal(rebuilt(z), original(z))


def test_build_model_unknown_name_raises_key_error():
    with pytest.raises(KeyError, match="not registered"):
        build_model("NoSuchNet", {})


def test_register_model_makes_a_new_class_buildable(monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class ScaleConfig:
        factor: float

    class Scale(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config

        def forward(self, x):
            return self.config.factor * x

    monkeypatch.setattr(models, "MODEL_REGISTRY", dict(MODEL_REGISTRY))
    register_model("Scale", Scale, ScaleConfig)
    net = build_model("Scale", {"factor": 3.0})
    assert torch.equal(net(torch.ones(2)), torch.full((2,), 3.0))
