"""Every structure loss against an independent dense float64 reference
(plain loops over anchors and pairs with numpy), plus gradcheck."""
import math

import numpy as np
import pytest
import torch

from pyg_sip.losses import (
    bilinear_link,
    info_nce,
    margin_contrastive,
    multi_similarity,
    triplet_margin,
)


def make_case(seed, num_samples=14, dim=5, self_pairs=False):
    """Random pairs with 1..4 positives and 1..6 negatives per anchor, except
    that anchors a = 2 (mod 5) have no positives, a = 3 no negatives and
    a = 4 no pairs at all; a few columns are duplicated."""
    rng = np.random.default_rng(seed)
    z = torch.from_numpy(rng.normal(size=(num_samples, dim)))
    pos, neg = [], []
    for a in range(num_samples):
        num_pos = 0 if a % 5 in (2, 4) else int(rng.integers(1, 5))
        num_neg = 0 if a % 5 in (3, 4) else int(rng.integers(1, 7))
        for kind, count in ((pos, num_pos), (neg, num_neg)):
            for _ in range(count):
                b = int(rng.integers(num_samples))
                if b == a and not self_pairs:
                    b = (b + 1) % num_samples
                kind.append((a, b))
    pos += pos[:2]
    neg += neg[-3:]
    rng.shuffle(pos)
    rng.shuffle(neg)
    def as_index(pairs):
        return torch.tensor(pairs, dtype=torch.long).t().reshape(2, -1)
    return z, as_index(pos), as_index(neg)


def columns(index):
    return [tuple(c) for c in index.t().tolist()]


def dist(z, i, j):
    return float(np.linalg.norm(z[i] - z[j]))


def cos(z, i, j):
    return float(z[i] @ z[j] / (np.linalg.norm(z[i]) * np.linalg.norm(z[j])))


def ref_contrastive(z, pos, neg, pos_margin, neg_margin):
    z = z.numpy()
    terms = [max(0.0, dist(z, i, j) - pos_margin) for i, j in columns(pos)]
    terms += [max(0.0, neg_margin - dist(z, i, j)) for i, j in columns(neg)]
    return sum(terms) / len(terms) if terms else 0.0


def ref_triplet(z, pos, neg, margin, mining):
    z = z.numpy()
    terms = []
    for a, p in columns(pos):
        d_ap = dist(z, a, p)
        d_an = [dist(z, a2, n) for a2, n in columns(neg) if a2 == a]
        if mining == 'all':
            terms += [max(0.0, d_ap - d + margin) for d in d_an]
        elif mining == 'hard' and d_an:
            terms.append(max(0.0, d_ap - min(d_an) + margin))
        elif mining == 'semihard':
            semihard = [d for d in d_an if d_ap < d < d_ap + margin]
            if semihard:
                terms.append(d_ap - min(semihard) + margin)
    return sum(terms) / len(terms) if terms else 0.0


def ref_multi_similarity(z, pos, neg, alpha, beta, base, epsilon):
    z = z.numpy()
    losses = []
    for a in range(z.shape[0]):
        s_p = [cos(z, a, p) for a2, p in columns(pos) if a2 == a]
        s_n = [cos(z, a, n) for a2, n in columns(neg) if a2 == a]
        if not s_p or not s_n:
            continue
        kept_p = [s for s in s_p if s - epsilon < max(s_n)]
        kept_n = [s for s in s_n if s + epsilon > min(s_p)]
        loss = math.log1p(sum(math.exp(-alpha * (s - base))
                              for s in kept_p)) / alpha
        loss += math.log1p(sum(math.exp(beta * (s - base))
                               for s in kept_n)) / beta
        losses.append(loss)
    return sum(losses) / len(losses) if losses else 0.0


def ref_info_nce(z, pos, neg, temperature):
    z = z.numpy()
    terms = []
    for a, p in columns(pos):
        s_an = [cos(z, a, n) / temperature for a2, n in columns(neg) if a2 == a]
        if not s_an:
            continue
        s_ap = cos(z, a, p) / temperature
        terms.append(-s_ap + math.log(math.exp(s_ap) +
                                      sum(math.exp(s) for s in s_an)))
    return sum(terms) / len(terms) if terms else 0.0


def ref_bilinear(z, pos, neg, weight, bias):
    z, w, b = z.numpy(), weight.numpy(), float(bias)
    def softplus(x):
        return math.log1p(math.exp(x))
    terms = [softplus(-(z[i] @ w @ z[j] + b)) for i, j in columns(pos)]
    terms += [softplus(z[i] @ w @ z[j] + b) for i, j in columns(neg)]
    return sum(terms) / len(terms)


def check(out, ref):
    assert out.dtype == torch.float64
    assert out.dim() == 0
    assert abs(float(out) - ref) <= 1e-6 * max(1.0, abs(ref)), (float(out), ref)


SEEDS = [0, 1, 2, 3]


def test_case_has_the_advertised_structure():
    z, pos, neg = make_case(0)
    anchors = set(range(z.size(0)))
    with_pos, with_neg = set(pos[0].tolist()), set(neg[0].tolist())
    assert anchors - with_pos - with_neg  # never an anchor
    assert with_pos - with_neg and with_neg - with_pos  # only one kind
    assert len(set(columns(pos))) < pos.size(1)  # duplicates


@pytest.mark.parametrize('seed', SEEDS)
@pytest.mark.parametrize('margins', [(0.0, 1.0), (0.5, 3.0)])
def test_margin_contrastive(seed, margins):
    z, pos, neg = make_case(seed)
    out = margin_contrastive(z, pos, neg, *margins)
    check(out, ref_contrastive(z, pos, neg, *margins))


@pytest.mark.parametrize('seed', SEEDS)
@pytest.mark.parametrize('mining', ['all', 'hard', 'semihard'])
@pytest.mark.parametrize('margin', [0.1, 1.0])
def test_triplet_margin(seed, mining, margin):
    z, pos, neg = make_case(seed)
    out = triplet_margin(z, pos, neg, margin=margin, mining=mining)
    check(out, ref_triplet(z, pos, neg, margin, mining))


def test_triplet_semihard_is_strict_on_both_sides():
    # anchor 0: positive at distance 1, negatives at 1 (not farther),
    # 1.5 (semi-hard for margin 1) and 2 (= d_ap + margin, excluded).
    z = torch.tensor([[0.0], [1.0], [-1.0], [1.5], [-2.0]], dtype=torch.float64)
    pos = torch.tensor([[0], [1]])
    neg = torch.tensor([[0, 0, 0], [2, 3, 4]])
    out = triplet_margin(z, pos, neg, margin=1.0, mining='semihard')
    assert float(out) == pytest.approx(1.0 - 1.5 + 1.0)
    out = triplet_margin(z, pos, neg[:, [0, 2]], margin=1.0, mining='semihard')
    assert float(out) == 0.0  # no semi-hard negative: the positive is skipped


@pytest.mark.parametrize('seed', SEEDS)
@pytest.mark.parametrize('params', [(2.0, 50.0, 0.5, 0.1), (1.0, 4.0, 0.2, 0.3),
                                    (2.0, 40.0, 0.5, 10.0)])
def test_multi_similarity(seed, params):
    z, pos, neg = make_case(seed)
    out = multi_similarity(z, pos, neg, *params)
    check(out, ref_multi_similarity(z, pos, neg, *params))


@pytest.mark.parametrize('seed', SEEDS)
@pytest.mark.parametrize('temperature', [0.1, 1.0])
def test_info_nce(seed, temperature):
    z, pos, neg = make_case(seed)
    out = info_nce(z, pos, neg, temperature)
    check(out, ref_info_nce(z, pos, neg, temperature))


@pytest.mark.parametrize('seed', SEEDS)
def test_bilinear_link(seed):
    z, pos, neg = make_case(seed)
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(5, 5, generator=gen, dtype=torch.float64) / 3
    bias = torch.randn(1, generator=gen, dtype=torch.float64)
    out = bilinear_link(z, pos, neg, weight, bias)
    check(out, ref_bilinear(z, pos, neg, weight, bias))
    check(bilinear_link(z, pos, neg, weight),
          ref_bilinear(z, pos, neg, weight, 0.0))


@pytest.mark.parametrize('seed', SEEDS)
def test_self_pairs_are_ordinary_pairs(seed):
    z, pos, neg = make_case(seed, self_pairs=True)
    check(margin_contrastive(z, pos, neg), ref_contrastive(z, pos, neg, 0.0, 1.0))
    check(multi_similarity(z, pos, neg), ref_multi_similarity(
        z, pos, neg, 2.0, 50.0, 0.5, 0.1))
    check(info_nce(z, pos, neg), ref_info_nce(z, pos, neg, 0.1))


LOSSES = {
    'margin_contrastive': lambda z, p, n: margin_contrastive(z, p, n, 0.2, 2.0),
    'triplet_all': lambda z, p, n: triplet_margin(z, p, n, 0.5, 'all'),
    'triplet_hard': lambda z, p, n: triplet_margin(z, p, n, 0.5, 'hard'),
    'triplet_semihard': lambda z, p, n: triplet_margin(z, p, n, 1.0,
                                                      'semihard'),
    'multi_similarity': lambda z, p, n: multi_similarity(z, p, n, 2.0, 10.0),
    'info_nce': lambda z, p, n: info_nce(z, p, n, 0.5),
}


@pytest.mark.parametrize('name', list(LOSSES))
def test_gradcheck(name):
    z, pos, neg = make_case(5, num_samples=9, dim=3)
    z.requires_grad_()
    assert torch.autograd.gradcheck(lambda x: LOSSES[name](x, pos, neg), (z, ))


def test_gradcheck_bilinear():
    z, pos, neg = make_case(6, num_samples=9, dim=3)
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    bias = torch.randn(1, generator=gen, dtype=torch.float64)
    inputs = tuple(t.requires_grad_() for t in (z, weight, bias))
    assert torch.autograd.gradcheck(
        lambda x, w, b: bilinear_link(x, pos, neg, w, b), inputs)


@pytest.mark.parametrize('name', ['margin_contrastive', 'triplet_all',
                                  'triplet_hard'])
def test_distance_zero_has_finite_gradient(name):
    # Rows 0 and 1 coincide; the positive pair (0, 0) and the active negative
    # pair (0, 1) both sit at distance 0, where the subgradient 0 is used.
    z = torch.tensor([[1.0, 2.0], [1.0, 2.0], [1.0, 3.0]], dtype=torch.float64,
                     requires_grad=True)
    pos = torch.tensor([[0], [0]])
    neg = torch.tensor([[0, 0], [1, 2]])
    loss = LOSSES[name](z, pos, neg)
    assert float(loss.detach()) > 0
    loss.backward()
    assert torch.isfinite(z.grad).all()
    assert z.grad[1].abs().sum() == 0  # only in the distance-0 pair (0, 1)
