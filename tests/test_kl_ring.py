"""The 2-D forward/reverse KL fits of section 6.2 on small, known mixtures."""
import math

import torch

from gan_utils.dynamics.kl_directions import DiagMixture, fit_gmm_em, fit_gmm_reverse_kl, mc_kl, mode_mass, ring_mixture
from gan_utils.dynamics.mode_coverage import BENCHMARKS

torch.set_num_threads(1)


def test_em_recovers_known_mixture():
    true = DiagMixture(torch.tensor([0.3, 0.7]), torch.tensor([[-1.0, 0.0], [2.0, 1.0]]),
                       torch.tensor([[0.2, 0.3], [0.4, 0.1]]))
    x = true.sample(5000, torch.Generator().manual_seed(0))
    q, _ = fit_gmm_em(x, 2, restarts=3)
    order = torch.argsort(q.means[:, 0])
    assert torch.allclose(q.weights[order], true.weights.double(), atol=0.03)
    assert torch.allclose(q.means[order], true.means.double(), atol=0.05)
    assert torch.allclose(q.stds[order], true.stds.double(), rtol=0.1)


def test_reverse_fit_with_all_modes_gets_near_zero():
    p = ring_mixture(BENCHMARKS["ring"].means[:3], 0.1)
    q, kl = fit_gmm_reverse_kl(p, 3, steps=800, restarts=3)
    assert kl < 0.1, kl
    assert mc_kl(q, p, 20000, torch.Generator().manual_seed(1)) < 0.1


def test_ring_reverse_covers_at_most_k_em_covers_all():
    b = BENCHMARKS["ring"]
    p = ring_mixture(b.means, b.std)
    g = torch.Generator().manual_seed(0)
    qe, _ = fit_gmm_em(p.sample(4000, g), 4)
    qr, kl = fit_gmm_reverse_kl(p, 4)
    share_e, _ = mode_mass(qe, b.means, b.std, 20000, g)
    share_r, hq_r = mode_mass(qr, b.means, b.std, 20000, g)
    assert (share_e > 1 / 16).sum() == 8
    assert (share_r > 1 / 16).sum() <= 4 and hq_r > 0.9
    assert math.log(2) - 0.05 < kl < 1.5  # the best K = 4 fit has KL log 2 (4 of 8 modes exactly)
