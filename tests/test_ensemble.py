"""Tests of gan_utils.ensemble: batched layers equal their plain counterparts, and a member of a batched
ensemble trains like the same seed alone."""
import pytest
import torch
from torch import nn

from gan_utils.ensemble import (
    BatchedBatchNorm,
    BatchedLinear,
    EnsembleMLP,
    EnsembleMLPConfig,
    Maxout,
    ensemble_generate,
    member_state,
    members_of,
    train_ensemble,
)
from gan_utils.train import TrainConfig


def _plain_linear(lin: BatchedLinear, s: int) -> nn.Linear:
    w = lin.weight[s].detach()
    out = nn.Linear(w.shape[0], w.shape[1], bias=lin.bias is not None)
    with torch.no_grad():
        out.weight.copy_(w.T)
        if lin.bias is not None:
            out.bias.copy_(lin.bias[s, 0])
    return out


def test_batched_linear_is_one_linear_map_per_member():
    torch.manual_seed(0)
    lin = BatchedLinear(3, 4, 5)
    nn.init.normal_(lin.weight)
    nn.init.normal_(lin.bias)
    x = torch.randn(3, 7, 4)
    y = lin(x)
    for s in range(3):
        torch.testing.assert_close(y[s], _plain_linear(lin, s)(x[s]))


def test_batched_batchnorm_matches_batchnorm1d_per_member_in_train_and_eval():
    torch.manual_seed(0)
    bn = BatchedBatchNorm(2, 3, momentum=0.05)
    refs = [nn.BatchNorm1d(3, momentum=0.05) for _ in range(2)]
    with torch.no_grad():
        bn.weight.normal_()
        bn.bias.normal_()
        for s, r in enumerate(refs):
            r.weight.copy_(bn.weight[s, 0])
            r.bias.copy_(bn.bias[s, 0])
    for _ in range(3):  # running statistics accumulate the same way
        x = torch.randn(2, 10, 3) * 3 + 1
        y = bn(x)
        for s, r in enumerate(refs):
            torch.testing.assert_close(y[s], r(x[s]))
    bn.eval()
    x = torch.randn(2, 4, 3)
    for s, r in enumerate(refs):
        r.eval()
        torch.testing.assert_close(bn(x)[s], r(x[s]))


def test_maxout_takes_the_maximum_over_each_units_pieces():
    x = torch.tensor([[[1.0, 5.0, 2.0, -1.0, -3.0, -2.0]]])  # 2 units x 3 pieces: unit j has features j, 2 + j, 4 + j
    torch.testing.assert_close(Maxout(3)(x), torch.tensor([[[2.0, 5.0]]]))
    with pytest.raises(ValueError, match="pieces"):
        Maxout(1)


@pytest.mark.parametrize("activation,batchnorm", [("relu", False), ("leaky_relu", True), ("maxout", False)])
def test_member_weights_depend_only_on_its_seed(activation, batchnorm):
    cfg = EnsembleMLPConfig(2, 1, (8, 6), activation, maxout_pieces=3, batchnorm=batchnorm, init_std=None)
    many, alone = EnsembleMLP(cfg, [4, 7, 9]), EnsembleMLP(cfg, [7])
    a, b = member_state(many, 1), member_state(alone, 0)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(member_state(many, 0)["body.0.weight"], a["body.0.weight"])


def test_default_init_has_the_bounds_of_nn_linear_and_gaussian_init_its_std():
    net = EnsembleMLP(EnsembleMLPConfig(400, 1, (300,)), range(4))
    w = net.body[0].weight
    assert w.abs().max() <= 1 / 400 ** 0.5 and w.abs().max() > 0.95 / 400 ** 0.5
    net = EnsembleMLP(EnsembleMLPConfig(400, 1, (300,), init_std=0.02), range(4))
    assert abs(float(net.body[0].weight.std()) - 0.02) < 0.001
    assert float(net.body[0].bias.abs().max()) == 0.0


def test_bad_configs_and_inputs_raise_one_line_errors():
    with pytest.raises(ValueError, match="activation"):
        EnsembleMLPConfig(2, 1, (4,), "tanh")
    with pytest.raises(ValueError, match="seed"):
        EnsembleMLP(EnsembleMLPConfig(2, 1, (4,)), [1, 1])
    net = EnsembleMLP(EnsembleMLPConfig(2, 1, (4,)), [0, 1])
    with pytest.raises(ValueError, match=r"\(2, B, 2\)"):
        net(torch.randn(3, 5, 2))
    with pytest.raises(ValueError, match="BatchedLinear"):
        members_of(nn.Linear(2, 2))


def _pair(seeds, batchnorm=True):
    G = EnsembleMLP(EnsembleMLPConfig(2, 2, (16, 16), "relu", batchnorm=batchnorm, hidden_bias=not batchnorm), seeds)
    D = EnsembleMLP(EnsembleMLPConfig(2, 1, (16,), "maxout", maxout_pieces=3, init_std=0.1), seeds)
    return G, D


def _sample(n, g):
    return torch.randn(n, 2, generator=g, device=g.device) * 0.5 + 1.0


@pytest.mark.parametrize("batchnorm", [True, False])
def test_a_member_trains_like_the_same_seed_alone(batchnorm):
    cfg = TrainConfig(steps=30, z_shape=(2,), batch_size=32, lr_g=1e-3, lr_d=1e-3, betas=(0.8, 0.999))
    G, D = _pair([3, 11, 5], batchnorm)
    G1, D1 = _pair([11], batchnorm)
    many = train_ensemble(G, D, _sample, cfg, "cpu", progress=False)
    alone = train_ensemble(G1, D1, _sample, cfg, "cpu", progress=False)
    for net, net1 in ((G, G1), (D, D1)):
        a, b = member_state(net, 1), member_state(net1, 0)
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)
    # the losses are the members' mean: not the lone run's, but finite and recorded every step
    assert len(many.d_loss) == len(alone.d_loss) == cfg.steps
    # and the members differ (they are independent runs, not copies)
    x = ensemble_generate(G, torch.randn(64, 2))
    assert not torch.allclose(x[0], x[1])


def test_ensemble_generate_uses_running_statistics_and_restores_the_mode():
    G, _ = _pair([0, 1])
    G.train()
    z = torch.randn(5, 2)
    a = ensemble_generate(G, z)
    assert G.training
    b = ensemble_generate(G, z[:1])  # eval mode: a sample does not depend on the rest of the batch
    torch.testing.assert_close(a[:, :1], b)
    assert ensemble_generate(G, z.expand(2, 5, 2)).shape == (2, 5, 2)
