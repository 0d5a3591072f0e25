"""The CPU pair kernels (sparse CSR products, float64 distances with exact
near pairs), the blocked gather path and the sort-based triplet counting,
each against independent dense references."""
import itertools

import numpy as np
import pytest
import torch

import pyg_sip.losses as L
from pyg_sip.losses import _pairs, _segment
from pyg_sip.losses._pairs import pair_scores
from pyg_sip.losses.triplet import _ordered_bits
from pyg_sip.typing import WITH_TORCH_SCATTER

BACKENDS = ['auto', 'gather']


def pairs_case(seed, num_samples=30, dim=6, num_pos=120, num_neg=300,
               dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num_samples, dim, generator=gen, dtype=dtype)
    z[5] = z[4]  # identical rows: distance exactly 0
    z[7] = z[6] + 1e-4 * z[6]  # a near pair, relative distance 1e-4
    pos = torch.randint(num_samples, (2, num_pos), generator=gen)
    neg = torch.randint(num_samples, (2, num_neg), generator=gen)
    extra = torch.tensor([[4, 6, 3, 9], [5, 7, 3, 2]])  # near, self, dup
    pos = torch.cat([pos, extra, pos[:, :3]], dim=1)
    neg = torch.cat([neg, extra[:, :2].flip(0)], dim=1)
    return z, pos, neg


def dense_scores(z, index, metric, weight=None):
    z = z.detach().double()
    a, b = z[index[0]], z[index[1]]
    if metric == 'dot':
        return ((a @ weight.double()) * b).sum(-1) if weight is not None \
            else (a * b).sum(-1)
    return torch.sqrt(((a - b) ** 2).sum(-1))


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('metric', ['dot', 'dist'])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('num_samples,num_pos,num_neg', [
    (30, 120, 300),  # pairs cover half of all row pairs: dense products
    (60, 120, 300),  # 12 % of all row pairs: dense products still
    (100, 150, 350),  # 5 %: sparse products, distances from float64 products
    (30, 8, 8),  # few pairs per row: distances gathered, sparse gradients
])
def test_pair_scores_and_gradients(monkeypatch, backend, metric, dtype,
                                   num_samples, num_pos, num_neg):
    monkeypatch.setattr(_pairs, 'BACKEND', backend)
    z, pos, neg = pairs_case(0, num_samples, num_pos=num_pos,
                             num_neg=num_neg, dtype=dtype)
    if backend == 'auto':  # the case takes the path its comment names
        density = (pos.size(1) + neg.size(1)) / num_samples**2
        dense = num_samples <= 60 and num_pos > 100
        assert (density >= _pairs.DENSE_PAIR_DENSITY) == dense
    x = z.clone().requires_grad_()
    s_pos, s_neg = pair_scores(x, pos, neg, metric)
    index = torch.cat([pos, neg], 1)
    out = torch.cat([s_pos, s_neg])
    expected = dense_scores(z, index, metric)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else \
        dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out.double(), expected, **tol)
    if metric == 'dist':  # identical rows: exactly 0, not a rounding residue
        assert float(s_pos[pos.size(1) - 7].detach()) == 0.0
    weight = torch.linspace(-1, 1, out.numel(), dtype=dtype)
    (out * weight).sum().backward()
    # reference gradient: autograd through a dense float64 formula, with the
    # subgradient 0 at distance 0
    ref = z.detach().double().requires_grad_()
    a, b = ref[index[0]], ref[index[1]]
    if metric == 'dot':
        scores = (a * b).sum(-1)
    else:
        sq = ((a - b) ** 2).sum(-1)
        scores = torch.where(sq > 0, torch.sqrt(torch.where(sq > 0, sq, 1.0)),
                             0.0)
    (scores * weight.double()).sum().backward()
    torch.testing.assert_close(x.grad.double(), ref.grad,
                               rtol=1e-4 if dtype == torch.float32 else 1e-10,
                               atol=1e-5 if dtype == torch.float32 else 1e-10)


@pytest.mark.parametrize('backend', BACKENDS)
def test_bilinear_two_sided_scores(monkeypatch, backend):
    monkeypatch.setattr(_pairs, 'BACKEND', backend)
    z, pos, neg = pairs_case(1, dtype=torch.float64)
    w = torch.randn(z.size(1), z.size(1), dtype=torch.float64)
    x = z.clone().requires_grad_()
    ww = w.clone().requires_grad_()
    loss = L.bilinear_link(x, pos, neg, ww)
    loss.backward()
    ref_x = z.clone().requires_grad_()
    ref_w = w.clone().requires_grad_()
    lp = ((ref_x[pos[0]] @ ref_w) * ref_x[pos[1]]).sum(-1)
    ln = ((ref_x[neg[0]] @ ref_w) * ref_x[neg[1]]).sum(-1)
    ref = (torch.nn.functional.softplus(-lp).sum() +
           torch.nn.functional.softplus(ln).sum()) / (lp.numel() + ln.numel())
    ref.backward()
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(x.grad, ref_x.grad)
    torch.testing.assert_close(ww.grad, ref_w.grad)


@pytest.mark.parametrize('name', ['margin_contrastive', 'triplet_margin',
                                  'multi_similarity', 'info_nce'])
def test_backends_agree_on_losses(monkeypatch, name):
    z, pos, neg = pairs_case(2)
    results = []
    for backend in BACKENDS:
        monkeypatch.setattr(_pairs, 'BACKEND', backend)
        x = z.clone().requires_grad_()
        loss = getattr(L, name)(x, pos, neg)
        loss.backward()
        results.append((loss.detach(), x.grad))
    torch.testing.assert_close(results[0], results[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_ordered_bits_sort_like_floats(dtype):
    values = torch.tensor([3.5, -0.0, 0.0, -1e-30, 1e-30, -7.25, float('inf'),
                           -float('inf'), 2.0, -2.0, 1e30, -1e30], dtype=dtype)
    keys = _ordered_bits(values)
    for i, j in itertools.product(range(values.numel()), repeat=2):
        assert bool(keys[i] < keys[j]) == bool(values[i] < values[j]), (i, j)


def ref_triplet_all(z, pos, neg, margin):
    z = z.double().numpy()
    total, count = 0.0, 0
    for a, p in pos.t().tolist():
        for a2, n in neg.t().tolist():
            if a2 == a:
                d_ap = np.linalg.norm(z[a] - z[p])
                d_an = np.linalg.norm(z[a] - z[n])
                total += max(0.0, d_ap - d_an + margin)
                count += 1
    return total / max(1, count)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_triplet_all_with_ties(dtype):
    # Coordinates on a small grid: many exactly equal distances, and
    # d_ap + m == d_an exactly for some triplets (margin 1.0).
    gen = torch.Generator().manual_seed(3)
    z = torch.randint(0, 3, (25, 2), generator=gen).to(dtype)
    pos = torch.randint(25, (2, 60), generator=gen)
    neg = torch.randint(25, (2, 200), generator=gen)
    x = z.clone().requires_grad_()
    out = L.triplet_margin(x, pos, neg, margin=1.0)
    expected = ref_triplet_all(z, pos, neg, 1.0)
    assert float(out.detach()) == pytest.approx(expected, rel=1e-6)
    out.backward()
    assert torch.isfinite(x.grad).all()


def test_triplet_semihard_picks_smallest_strictly_greater():
    # anchor 0 at the origin; positive at distance 1; negatives at 1 (equal:
    # not semi-hard), 1.05 (the one), 1.08, 2 (beyond the margin 0.1)
    z = torch.tensor([[0.0], [1.0], [-1.0], [1.05], [1.08], [2.0]],
                     dtype=torch.float64, requires_grad=True)
    pos = torch.tensor([[0], [1]])
    neg = torch.tensor([[0, 0, 0, 0], [2, 4, 3, 5]])
    out = L.triplet_margin(z, pos, neg, margin=0.1, mining='semihard')
    assert float(out.detach()) == pytest.approx(1.0 - 1.05 + 0.1)
    out.backward()
    assert z.grad[3].item() == pytest.approx(-1.0)
    assert z.grad[[2, 4, 5]].abs().sum() == 0


@pytest.mark.skipif(not WITH_TORCH_SCATTER, reason='torch-scatter missing')
def test_torch_scatter_switch_same_result(monkeypatch):
    z, pos, neg = pairs_case(4)
    results = []
    for use in (True, False):
        monkeypatch.setattr(_segment, 'USE_TORCH_SCATTER', use)
        x = z.clone().requires_grad_()
        loss = L.triplet_margin(x, pos, neg, mining='hard')
        loss.backward()
        results.append((loss.detach(), x.grad))
    torch.testing.assert_close(results[0], results[1])
