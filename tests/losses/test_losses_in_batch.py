"""Implicit in-batch negatives and the dense (score matrix) path of every
structure loss: against the independent float64 loop references on the
explicit pairs they stand for, sparse and dense paths against each other
(values and gradients), and non-finite embeddings."""
import pytest
import torch
from test_losses_reference import (
    ref_bilinear,
    ref_contrastive,
    ref_info_nce,
    ref_multi_similarity,
    ref_triplet,
)

import pyg_sip.losses as L
from pyg_sip.errors import PygSipError
from pyg_sip.losses import InBatchNegatives, negatives

WEIGHT = torch.eye(6, dtype=torch.float64) * 0.7 + 0.05
BIAS = torch.tensor([0.3], dtype=torch.float64)

# name: (loss on (z, pos, neg), reference on (z, pos, neg) explicit pairs)
CASES = {
    'margin_contrastive': (
        lambda z, p, n: L.margin_contrastive(z, p, n, 0.2, 3.0),
        lambda z, p, n: ref_contrastive(z, p, n, 0.2, 3.0)),
    'triplet_all': (
        lambda z, p, n: L.triplet_margin(z, p, n, 0.5, 'all'),
        lambda z, p, n: ref_triplet(z, p, n, 0.5, 'all')),
    'triplet_hard': (
        lambda z, p, n: L.triplet_margin(z, p, n, 0.5, 'hard'),
        lambda z, p, n: ref_triplet(z, p, n, 0.5, 'hard')),
    'triplet_semihard': (
        lambda z, p, n: L.triplet_margin(z, p, n, 1.0, 'semihard'),
        lambda z, p, n: ref_triplet(z, p, n, 1.0, 'semihard')),
    'multi_similarity': (
        lambda z, p, n: L.multi_similarity(z, p, n, 2.0, 10.0, 0.5, 0.3),
        lambda z, p, n: ref_multi_similarity(z, p, n, 2.0, 10.0, 0.5, 0.3)),
    'info_nce': (
        lambda z, p, n: L.info_nce(z, p, n, 0.5),
        lambda z, p, n: ref_info_nce(z, p, n, 0.5)),
    'bilinear': (
        lambda z, p, n: L.bilinear_link(z, p, n, WEIGHT.to(z.dtype),
                                        BIAS.to(z.dtype)),
        lambda z, p, n: ref_bilinear(z, p, n, WEIGHT, BIAS)),
}


def batch(seed, num_samples=13, num_anchors=6, dim=6):
    r"""Anchors in rows [0, num_anchors) with 0..3 positives each (anchor 2
    none), and a few known edges to exclude (some of them positives, some
    from rows that are not anchors)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num_samples, dim, generator=gen, dtype=torch.float64)
    pos = []
    for a in range(num_anchors):
        count = 0 if a == 2 else int(torch.randint(1, 4, (1,), generator=gen))
        others = torch.randperm(num_samples - 1, generator=gen)[:count]
        pos += [(a, int(j) + (int(j) >= a)) for j in others]
    excl = torch.randint(0, num_samples, (2, 9), generator=gen)
    excl = torch.cat([excl, torch.tensor(pos[:2]).t()], dim=1)
    pos = torch.tensor(pos).t()
    return z, pos, excl


def explicit_negatives(pos, exclude, num_samples):
    r"""The definition, by loops: every other row of each anchor that is
    neither a positive nor excluded."""
    anchors = sorted(set(pos[0].tolist()))
    skip = set(map(tuple, pos.t().tolist())) | set(map(tuple, exclude.t().tolist()))
    pairs = [(a, j) for a in anchors for j in range(num_samples)
             if j != a and (a, j) not in skip]
    return torch.tensor(pairs).t()


@pytest.mark.parametrize('name', list(CASES))
@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('num_anchors', [None, 6])
def test_in_batch_matches_reference(name, seed, num_anchors):
    fn, ref = CASES[name]
    z, pos, excl = batch(seed)
    neg = explicit_negatives(pos, excl, z.size(0))
    implicit = InBatchNegatives(num_anchors=num_anchors, exclude=excl)
    assert torch.equal(implicit.neg_index(pos, z.size(0)), neg)
    out = fn(z, pos, implicit)
    expected = ref(z, pos, neg)
    assert out.dtype == torch.float64
    assert float(out) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize('name', list(CASES))
def test_neg_index_none_is_in_batch(name):
    fn, ref = CASES[name]
    z, pos, _ = batch(3)
    empty = torch.empty(2, 0, dtype=torch.long)
    expected = ref(z, pos, explicit_negatives(pos, empty, z.size(0)))
    assert float(fn(z, pos, None)) == pytest.approx(expected, rel=1e-9)


def run(fn, z, pos, neg):
    z = z.detach().clone().requires_grad_()
    out = fn(z, pos, neg)
    out.backward()
    return out.detach(), z.grad


@pytest.mark.parametrize('name', list(CASES))
@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
def test_dense_and_sparse_paths_agree(monkeypatch, name, dtype):
    fn, _ = CASES[name]
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(40, 6, generator=gen).to(dtype)
    pos = torch.randint(0, 40, (2, 120), generator=gen)
    neg = torch.randint(0, 40, (2, 900), generator=gen)  # with duplicates
    neg = torch.cat([neg, neg[:, :50]], dim=1)
    monkeypatch.setattr(negatives, 'DENSE_DENSITY', float('inf'))
    sparse = run(fn, z, pos, neg)
    monkeypatch.setattr(negatives, 'DENSE_DENSITY', 0.0)
    dense = run(fn, z, pos, neg)
    tol = dict(rtol=1e-9, atol=1e-12) if dtype == torch.float64 else \
        dict(rtol=2e-5, atol=2e-6)
    torch.testing.assert_close(dense, sparse, **tol)


@pytest.mark.parametrize('name', list(CASES))
def test_dense_float32_near_pairs(name):
    # Clustered embeddings: many pairs far closer than their norms, where
    # |x|^2 + |y|^2 - 2<x, y> in float32 would cancel every digit.
    fn, _ = CASES[name]
    gen = torch.Generator().manual_seed(1)
    centers = torch.randn(4, 6, generator=gen, dtype=torch.float64) * 10
    z = centers.repeat_interleave(8, 0) + 1e-2 * torch.randn(
        32, 6, generator=gen, dtype=torch.float64)
    pos = torch.stack([torch.arange(32), (torch.arange(32) + 1) % 32])
    out32, grad32 = run(fn, z.float(), pos, InBatchNegatives())
    out64, grad64 = run(fn, z, pos, InBatchNegatives())
    torch.testing.assert_close(out32.double(), out64, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grad32.double(), grad64, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize('name', list(CASES))
def test_in_batch_gradcheck(name):
    fn, _ = CASES[name]
    z, pos, excl = batch(4, num_samples=9, num_anchors=4, dim=3)
    z = z[:, :3] if name != 'bilinear' else z
    neg = InBatchNegatives(num_anchors=4, exclude=excl)
    if name == 'bilinear':
        z = torch.randn(9, 6, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: fn(x, pos, neg),
                                    (z.clone().requires_grad_(),))


def test_in_batch_builds_no_pair_list(monkeypatch):
    calls = []
    monkeypatch.setattr(InBatchNegatives, 'neg_index',
                        lambda *a: calls.append(a))
    z, pos, excl = batch(0)
    for fn, _ in CASES.values():
        fn(z, pos, InBatchNegatives(exclude=excl))
    assert not calls


def test_in_batch_validation():
    z, pos, excl = batch(0)
    with pytest.raises(PygSipError, match="'num_anchors' must be an int"):
        InBatchNegatives(num_anchors=-1)
    with pytest.raises(PygSipError, match="'exclude' must have dtype"):
        InBatchNegatives(exclude=excl.int())
    with pytest.raises(PygSipError, match=r"'exclude' must have shape \[2"):
        InBatchNegatives(exclude=excl[0])
    with pytest.raises(PygSipError, match="'num_anchors' is 20 but 'z' has"):
        L.info_nce(z, pos, InBatchNegatives(num_anchors=20))
    with pytest.raises(PygSipError, match="'pos_index' column 0 has anchor 0, "
                       "outside the num_anchors=0"):
        L.info_nce(z, pos, InBatchNegatives(num_anchors=0))
    bad = excl.clone()
    bad[1, 4] = 13
    with pytest.raises(PygSipError, match=r"'exclude' column 4 .* 13 samples"):
        L.info_nce(z, pos, InBatchNegatives(exclude=bad))
    with pytest.raises(PygSipError, match="'neg_index' must be a tensor, "
                       "InBatchNegatives or None"):
        L.info_nce(z, pos, [[0, 1], [1, 0]])
    assert repr(InBatchNegatives(4, excl)) == \
        'InBatchNegatives(num_anchors=4, exclude=11)'


def registry_loss(name, dim):
    return L.get_loss(name, **({'dim': dim} if name == 'bilinear' else {}))


@pytest.mark.parametrize('name', L.available_losses())
@pytest.mark.parametrize('value', [float('nan'), float('inf'), -float('inf')])
@pytest.mark.parametrize('mode', ['sparse', 'in_batch', 'dense'])
def test_non_finite_embedding_gives_nan(monkeypatch, name, value, mode):
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(12, 4, generator=gen)
    pos = torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7]])
    neg = torch.tensor([[0, 0, 1, 2, 3], [8, 9, 10, 11, 6]])
    if mode == 'in_batch':
        neg = InBatchNegatives(num_anchors=4)
    monkeypatch.setattr(negatives, 'DENSE_DENSITY',
                        0.0 if mode == 'dense' else float('inf'))
    losses = [registry_loss(name, 4)]
    if name == 'triplet_margin':
        losses += [L.TripletMarginLoss(1.0, mining) for mining in
                   ('hard', 'semihard')]
    for loss in losses:
        assert torch.isfinite(loss(z, pos, neg))
        # a row that a pair uses (a negative of anchor 0; a positive of 2)
        for row in (9, 6):
            bad = z.clone()
            bad[row, 1] = value
            out = loss(bad.requires_grad_(), pos, neg)
            assert torch.isnan(out), (loss, row, float(out))
            out.backward()  # still differentiable, no error


@pytest.mark.parametrize('temperature', [1.0, 0.1, 0.02, 0.01, 0.002])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_info_nce_dense_every_temperature(monkeypatch, temperature, dtype):
    # Small temperatures take the shifted path (e^{1/tau} would overflow
    # float32), larger ones the unshifted e^S: both against the float64
    # loop reference (values) and the sparse path (gradients).
    z, pos, excl = batch(5, num_samples=24, num_anchors=10, dim=8)
    neg = explicit_negatives(pos, excl, z.size(0))
    expected = ref_info_nce(z, pos, neg, temperature)
    fn = lambda x, p, n: L.info_nce(x, p, n, temperature)  # noqa: E731
    out, grad = run(fn, z.to(dtype), pos, InBatchNegatives(exclude=excl))
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    assert float(out) == pytest.approx(expected, rel=tol, abs=tol)
    monkeypatch.setattr(negatives, 'DENSE_DENSITY', float('inf'))
    out_sparse, grad_sparse = run(fn, z.to(dtype), pos, neg)
    monkeypatch.setattr(negatives, 'DENSE_DENSITY', 0.0)
    out_dense, grad_dense = run(fn, z.to(dtype), pos, neg)
    torch.testing.assert_close(grad, grad_sparse, rtol=10 * tol, atol=tol)
    torch.testing.assert_close(grad_dense, grad_sparse, rtol=10 * tol,
                               atol=tol)
    assert float(out_dense) == pytest.approx(expected, rel=tol, abs=tol)
