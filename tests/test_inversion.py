"""Tests of gan_utils.images.inversion and gan_utils.images.encoder_inversion: PSNR against its formula and
torchmetrics, the prior terms in closed form, stochastic clipping, masked data term, batched inversion and
the encoder on a tiny generator."""

import pytest
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio

from gan_utils.dcgan import DCGANConfig, DCGANGenerator
from gan_utils.images import inversion as inversion_module
from gan_utils.images.encoder_inversion import Encoder, EncoderTrainConfig, encode, train_encoder
from gan_utils.images.inversion import (
    LT_LEVELS,
    InversionConfig,
    component_mse,
    data_term,
    invert,
    jacobian_singular_values,
    prior_term,
    psnr,
    recovery_rates,
    relative_latent_error,
    stochastic_clip_,
    subspace_error,
)


def tiny_g(seed=0):
    torch.manual_seed(seed)
    return DCGANGenerator(DCGANConfig(nz=8, ngf=4, ndf=4)).eval().requires_grad_(False)


def test_psnr_matches_formula_and_torchmetrics():
    g = torch.Generator().manual_seed(0)
    ref = torch.rand(4, 1, 28, 28, generator=g) * 2 - 1
    x = (ref + 0.1 * torch.randn(ref.shape, generator=g)).clamp(-1, 1)
    ours = psnr(x, ref)
    mse = ((x - ref) ** 2).flatten(1).mean(1)
    assert torch.allclose(ours, 10 * torch.log10(4.0 / mse))
    for i in range(4):
        tm = peak_signal_noise_ratio(x[i], ref[i], data_range=2.0)
        assert abs(float(tm) - float(ours[i])) < 1e-4
    # a constant error of 0.2 on a range of 2: 10 log10(4 / 0.04) = 20 dB
    assert abs(float(psnr(ref + 0.2, ref)[0]) - 20.0) < 1e-4


def test_prior_terms_closed_form():
    z = torch.tensor([[3.0, 4.0, 0.0, 0.0]])
    assert torch.allclose(prior_term(z, "gauss"), torch.tensor([25.0 / 4]))
    assert torch.allclose(prior_term(z, "chi"), torch.tensor([(5.0 / 2 - 1) ** 2]))
    assert prior_term(z, "none").item() == 0.0
    with pytest.raises(ValueError):
        prior_term(z, "laplace")


def test_stochastic_clip_redraws_only_outside_components():
    z = torch.tensor([[0.5, -5.0, 3.9, 7.0, -4.0]])
    before = z.clone()
    n = stochastic_clip_(z, 4.0, torch.Generator().manual_seed(1))
    assert n == 2
    assert z.abs().max() <= 4.0
    keep = before.abs() <= 4.0
    assert torch.equal(z[keep], before[keep])
    assert not torch.equal(z[~keep], before[~keep])


def test_data_term_ignores_masked_pixels():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(2, 1, 28, 28, generator=g, requires_grad=True)
    target = torch.randn(2, 1, 28, 28, generator=g)
    mask = torch.zeros(1, 1, 28, 28)
    mask[..., :14, :] = 1
    d = data_term(pred, target, mask)
    ref = ((pred - target)[..., :14, :] ** 2).flatten(1).mean(1)
    assert torch.allclose(d, ref)
    d.sum().backward()
    assert pred.grad[..., 14:, :].abs().max() == 0  # no gradient from missing pixels
    target2 = target.clone()
    target2[..., 14:, :] = 100.0  # changing unobserved entries changes nothing
    assert torch.allclose(data_term(pred, target2, mask), d)
    with pytest.raises(ValueError):
        data_term(pred, target, torch.zeros(1, 1, 28, 28))


def test_invert_batched_codes_are_independent_and_best_of_n():
    G = tiny_g()
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, 8, generator=g)
    x = G(z)
    cfg = InversionConfig(steps=25, lr=0.1, restarts=2, clip=4.0)
    res = invert(G, x, cfg, generator=torch.Generator().manual_seed(5))
    assert res.z.shape == (3, 8) and res.all_z.shape == (2, 3, 8) and res.all_loss.shape == (2, 3)
    assert torch.equal(res.loss, res.all_loss.min(0).values)  # best of n by final data term
    assert res.history[-1] < res.history[0]
    assert res.all_z.abs().max() <= 4.0
    # inverting image 1 alone from the same start gives the same code as in the batch (sum of losses)
    z0 = torch.randn(3, 8, generator=torch.Generator().manual_seed(9))
    full = invert(G, x, InversionConfig(steps=8, lr=0.05), z_init=z0)
    one = invert(G, x[1:2], InversionConfig(steps=8, lr=0.05), z_init=z0[1:2])
    assert torch.allclose(full.z[1], one.z[0], atol=1e-5)
    with pytest.raises(ValueError):
        invert(G.train(), x, cfg)


def test_relative_latent_error():
    z = torch.tensor([[3.0, 4.0]])
    assert torch.allclose(relative_latent_error(z * 1.01, z), torch.tensor([0.01]))


def test_encoder_learns_codes_of_tiny_generator():
    G = tiny_g()
    E, hist = train_encoder(G, EncoderTrainConfig(steps=25, batch_size=16, width=4), "cpu",
                            torch.Generator().manual_seed(0), progress=False)
    assert isinstance(E, Encoder) and not E.training
    assert sum(hist["loss"][-5:]) < sum(hist["loss"][:5])
    assert encode(E, G(torch.randn(5, 8))).shape == (5, 8)
    with pytest.raises(ValueError):
        InversionConfig(prior="l1")


def test_jacobian_singular_values_match_finite_differences():
    G = tiny_g()
    z = torch.randn(1, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    G = G.double()
    h = 1e-5
    cols = [(G(z + h * e[None]) - G(z - h * e[None])).flatten() / (2 * h) for e in torch.eye(8, dtype=torch.float64)]
    ref = torch.linalg.svdvals(torch.stack(cols, 1))
    s = jacobian_singular_values(G, z)
    assert torch.allclose(s[0], ref, rtol=1e-6, atol=1e-9)


def test_component_mse_and_recovery_rates_follow_lipton_and_tripathi():
    z = torch.zeros(4, 10)
    z_hat = z + torch.tensor([0.0, 0.05, 0.2, 1.0])[:, None]  # per-component squared errors 0, 2.5e-3, 0.04, 1
    assert torch.allclose(component_mse(z_hat, z), torch.tensor([0.0, 2.5e-3, 0.04, 1.0]))
    rates = recovery_rates(z_hat, z)
    assert list(rates) == list(LT_LEVELS)
    assert rates[1e-1] == 0.75 and rates[1e-2] == 0.5 and rates[1e-5] == 0.25
    with pytest.raises(ValueError):
        component_mse(z_hat, z[:2])


def test_subspace_error_splits_the_error_along_the_singular_directions():
    nz = 4
    z = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    vecs = torch.eye(nz)[None]  # singular vectors = coordinate axes
    svals = torch.tensor([[10.0, 5.0, 0.5, 0.1]])  # with fraction 0.1: the first two are well-conditioned
    z_hat = z + torch.tensor([[0.1, 0.0, 2.0, 0.0]])
    inside, outside, k = subspace_error(z_hat, z, svals, vecs, 0.1)
    assert int(k) == 2
    assert torch.allclose(inside, torch.tensor([0.1 / 2 ** 0.5]))
    assert torch.allclose(outside, torch.tensor([2.0 / 2 ** 0.5]))
    with pytest.raises(ValueError):
        subspace_error(z_hat, z, svals, vecs, 0.0)


def test_invert_records_gradient_norms_and_stops_early_on_the_same_schedule():
    G = tiny_g()
    target = G(torch.randn(3, 8, generator=torch.Generator().manual_seed(1)))
    full = invert(G, target, InversionConfig(steps=6, lr=0.05), generator=torch.Generator().manual_seed(2))
    start = invert(G, target, InversionConfig(steps=6, lr=0.05, stop_after=3),
                   generator=torch.Generator().manual_seed(2))
    assert len(full.grad_history) == 6 and all(g >= 0 for g in full.grad_history)
    assert len(start.history) == 3 and start.history == full.history[:3]
    with pytest.raises(ValueError):
        InversionConfig(steps=6, stop_after=7)


def test_load_reference_checks_the_hash(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"rows": {}}\n')
    with pytest.raises(ValueError, match="sha256"):
        inversion_module.load_reference(path, expected_sha256="0" * 64)
    assert inversion_module.load_reference(path, expected_sha256="") == {"rows": {}}


def test_the_shipped_converged_runs_load_and_hold_the_chapter_s_rows():
    ref = inversion_module.load_reference()
    assert set(ref["rows"]) == {"base", "restarts", "clipping", "prior", "encoder", "hybrid"}
    n_fake = ref["settings"]["n_fake"]
    assert all(len(r["fake_psnr"]) == n_fake and len(r["inside_error"]) == n_fake for r in ref["rows"].values())
    assert {"command", "git_commit", "device", "torch", "wall_seconds"} <= set(ref["meta"])
