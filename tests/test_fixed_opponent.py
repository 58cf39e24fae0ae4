"""Tests for gan_utils.fixed_opponent: one player trained against a fixed other, against closed forms and
plain loops."""
import math

import pytest
import torch

from gan_utils import losses
from gan_utils.data import GaussianMixture1D
from gan_utils.fixed_opponent import train_discriminator, train_generator, train_player
from gan_utils.models import mlp_discriminator, mlp_generator
from gan_utils.runtime import torch_threads
from gan_utils.train import TrainConfig, sample_noise, tensor_sampler, train_gan

P_DATA = GaussianMixture1D(weights=(0.4, 0.6), means=(-1.5, 1.5), stds=(0.6, 0.8))
P_G = GaussianMixture1D(weights=(1.0,), means=(1.0,), stds=(2.0,))


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with torch_threads(1):
        yield


def assert_same_weights(m1, m2):
    for (n, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert torch.equal(a, b), n


# ---------------------------------------------------------------------------------- the discriminator
def test_train_discriminator_reaches_the_logistic_optimum():
    # p_data = N(1, 1), p_g = N(-1, 1): a*(x) = log N(x; 1, 1) - log N(x; -1, 1) = 2x, exactly linear (eq-optimal-d)
    pd = GaussianMixture1D((1.0,), (1.0,), (1.0,))
    pg = GaussianMixture1D((1.0,), (-1.0,), (1.0,))
    torch.manual_seed(0)
    D = torch.nn.Linear(1, 1)
    hist = train_discriminator(D, lambda n, g: pd.sample(n, g), lambda n, g: pg.sample(n, g), 300, "cpu",
                               batch_size=256, lr=1e-1, lr_final=5e-3, seed=0, progress=False)
    assert D.weight.item() == pytest.approx(2.0, abs=0.15)
    assert D.bias.item() == pytest.approx(0.0, abs=0.1)
    assert set(hist) == {"step", "d_loss", "lr"} and hist["step"] == list(range(1, 301))
    # geometric decay from lr (first step) to lr_final (last step)
    assert hist["lr"][0] == pytest.approx(1e-1) and hist["lr"][-1] == pytest.approx(5e-3)
    ratios = [b / a for a, b in zip(hist["lr"], hist["lr"][1:])]
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-9)
    assert not D.training


def test_train_discriminator_equals_a_plain_adam_loop():
    """Against a frozen generator, with the least-squares objective: the same draws, in the same order."""
    torch.manual_seed(1)
    G, D = mlp_generator(2, 1, (8,)), mlp_discriminator(1, (8,))
    D_ref = mlp_discriminator(1, (8,))
    D_ref.load_state_dict(D.state_dict())
    G_before = [p.detach().clone() for p in G.parameters()]

    def real(n, g):
        return P_DATA.sample(n, g)

    def fake(n, g):
        return G(sample_noise(n, (2,), "cpu", g))

    hist = train_discriminator(D, real, fake, 15, "cpu", objective=losses.lsgan_d_loss, batch_size=32, lr=2e-3,
                               betas=(0.5, 0.999), seed=4, progress=False)
    opt = torch.optim.Adam(D_ref.parameters(), lr=2e-3, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(4)
    ref = []
    for _ in range(15):
        x = real(32, rng)
        with torch.no_grad():
            x_fake = fake(32, rng)
        loss = losses.lsgan_d_loss(D_ref(x), D_ref(x_fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref.append(loss.item())
    assert hist["d_loss"] == ref and hist["lr"] == [2e-3] * 15
    assert_same_weights(D, D_ref)
    assert all(torch.equal(a, b) for a, b in zip(G_before, G.parameters()))  # the opponent is untouched
    assert all(p.grad is None for p in G.parameters())


def test_train_discriminator_is_the_inner_loop_of_train_gan():
    """k discriminator steps of one Algorithm-1 iteration with lr_g = 0 train D exactly as D alone does."""
    x = P_DATA.sample(500, torch.Generator().manual_seed(0))
    torch.manual_seed(2)
    G, D = mlp_generator(1, 1, (8,)), mlp_discriminator(1, (8,))
    G2, D2 = mlp_generator(1, 1, (8,)), mlp_discriminator(1, (8,))
    G2.load_state_dict(G.state_dict())
    D2.load_state_dict(D.state_dict())
    train_gan(G, D, tensor_sampler(x), TrainConfig(steps=1, k=12, batch_size=16, lr_g=0.0, lr_d=3e-3, seed=7), "cpu",
              progress=False)
    train_discriminator(D2, tensor_sampler(x), lambda n, g: G2(sample_noise(n, (1,), "cpu", g)), 12, "cpu",
                        batch_size=16, lr=3e-3, betas=(0.5, 0.999), seed=7, progress=False)
    assert_same_weights(D, D2)
    assert_same_weights(G, G2)


def test_train_discriminator_is_deterministic_and_validates():
    def run():
        torch.manual_seed(3)
        D = torch.nn.Linear(1, 1)
        return train_discriminator(D, lambda n, g: P_DATA.sample(n, g), lambda n, g: P_G.sample(n, g), 20, "cpu",
                                   batch_size=64, seed=5, progress=False)["d_loss"]
    assert run() == run()
    for bad in ({"steps": -1}, {"batch_size": 0}, {"lr": 0.0}, {"lr_final": -1e-3}):
        kwargs = {"steps": 5} | bad
        steps = kwargs.pop("steps")
        with pytest.raises(ValueError):
            train_discriminator(torch.nn.Linear(1, 1), lambda n, g: torch.zeros(n, 1), lambda n, g: torch.zeros(n, 1),
                                steps, "cpu", progress=False, **kwargs)


# ------------------------------------------------------------------------------------------ the generator
def test_train_generator_equals_a_plain_adam_loop_and_freezes_d():
    torch.manual_seed(5)
    G, D = mlp_generator(3, 2, (8,)), mlp_discriminator(2, (8,))
    G_ref = mlp_generator(3, 2, (8,))
    G_ref.load_state_dict(G.state_dict())
    D_before = {n: p.detach().clone() for n, p in D.named_parameters()}
    hist = train_generator(G, D, 10, (3,), "cpu", objective=losses.g_loss_saturating, batch_size=24, lr=5e-3,
                           betas=(0.5, 0.999), seed=9, progress=False)
    opt = torch.optim.Adam(G_ref.parameters(), lr=5e-3, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(9)
    ref = []
    for _ in range(10):
        loss = losses.g_loss_saturating(D(G_ref(torch.randn(24, 3, generator=rng))))
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref.append(loss.item())
    assert hist["g_loss"] == ref and set(hist) == {"step", "g_loss", "lr"}
    assert_same_weights(G, G_ref)
    assert all(torch.equal(D_before[n], p) for n, p in D.named_parameters())
    assert all(p.requires_grad for p in D.parameters())  # trainable again afterwards
    # the only gradients D ever got came from the reference loop above, none from train_generator
    D.zero_grad(set_to_none=True)
    train_generator(G, D, 2, (3,), "cpu", batch_size=8, seed=0, progress=False)
    assert all(p.grad is None for p in D.parameters())


def test_zero_steps_and_non_finite_loss():
    torch.manual_seed(0)
    G = mlp_generator(1, 1, (4,))
    before = [p.detach().clone() for p in G.parameters()]
    hist = train_generator(G, lambda x: x, 0, (1,), "cpu", progress=False)
    assert hist == {"step": [], "g_loss": [], "lr": []}
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))
    with pytest.raises(FloatingPointError, match="at step 1"):
        train_player(G, lambda rng: G(torch.randn(4, 1, generator=rng)).sum() * math.inf, 3, "cpu", lr=1e-3,
                     progress=False)


def test_callbacks_get_the_step_and_the_player():
    seen = []
    torch.manual_seed(0)
    G = mlp_generator(1, 1, (4,))
    train_generator(G, lambda x: -x ** 2, 4, (1,), "cpu", progress=False, callbacks=[lambda s, m: seen.append((s, m))])
    assert [s for s, _ in seen] == [1, 2, 3, 4] and all(m is G for _, m in seen)
