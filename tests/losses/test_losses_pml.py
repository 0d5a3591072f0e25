"""Agreement with pytorch-metric-learning where the definitions match.

PML works on ``(embeddings, labels)`` and mines pairs from all labels; here
it receives the same pairs as ``indices_tuple``, its ``MeanReducer`` (its
default ``AvgNonZeroReducer`` averages only non-zero terms) and, for
Euclidean losses, ``LpDistance(normalize_embeddings=False)`` (its default
normalises the embeddings)."""
import pytest
import torch

from pyg_sip.losses import info_nce, margin_contrastive, multi_similarity, triplet_margin

pml_losses = pytest.importorskip('pytorch_metric_learning.losses')
from pytorch_metric_learning.distances import LpDistance  # noqa: E402
from pytorch_metric_learning.miners import MultiSimilarityMiner  # noqa: E402
from pytorch_metric_learning.reducers import MeanReducer  # noqa: E402

EMPTY = torch.empty(2, 0, dtype=torch.long)


def random_pairs(seed, num_samples=20, num_pos=30, num_neg=60):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num_samples, 6, generator=gen, dtype=torch.float64)
    pos = torch.randint(0, num_samples, (2, num_pos), generator=gen)
    neg = torch.randint(0, num_samples, (2, num_neg), generator=gen)
    pos[1] = (pos[0] + 1 + pos[1] % (num_samples - 1)) % num_samples  # no (i, i)
    neg[1] = (neg[0] + 1 + neg[1] % (num_samples - 1)) % num_samples
    return z, pos, neg


def labelled_batch(seed, num_classes=5, per_class=4, dim=6):
    """All same-label pairs are positive, all other pairs negative."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    centres = torch.randn(num_classes, dim, generator=gen, dtype=torch.float64)
    z = centres[labels] + 0.8 * torch.randn(labels.numel(), dim, generator=gen,
                                            dtype=torch.float64)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(labels.numel(), dtype=torch.bool)
    pos = (same & ~eye).nonzero().t()
    neg = (~same).nonzero().t()
    return z, labels, pos, neg


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_contrastive_matches_pml(seed):
    z, pos, neg = random_pairs(seed)
    pml = pml_losses.ContrastiveLoss(
        pos_margin=0.3, neg_margin=3.0,
        distance=LpDistance(normalize_embeddings=False), reducer=MeanReducer())
    expected = pml(z, None, (pos[0], pos[1], neg[0], neg[1]))
    # PML adds the mean over positive pairs and the mean over negative pairs;
    # ours is the mean over all pairs, so compare each part.
    ours_pos = margin_contrastive(z, pos, EMPTY, 0.3, 3.0)
    ours_neg = margin_contrastive(z, EMPTY, neg, 0.3, 3.0)
    torch.testing.assert_close(ours_pos + ours_neg, expected, rtol=1e-6,
                               atol=1e-6)
    both = margin_contrastive(z, pos, neg, 0.3, 3.0)
    torch.testing.assert_close(both * 90, ours_pos * 30 + ours_neg * 60)


def pml_triplets(z, pos, neg, margin, mining):
    """Triplets for PML, built by brute force from the pair lists."""
    triplets = []
    dist = torch.cdist(z, z)
    for a, p in pos.t().tolist():
        negs = [n for a2, n in neg.t().tolist() if a2 == a]
        if mining == 'all':
            triplets += [(a, p, n) for n in negs]
        elif mining == 'hard' and negs:
            triplets.append((a, p, min(negs, key=lambda n: dist[a, n])))
        elif mining == 'semihard':
            semihard = [n for n in negs
                        if dist[a, p] < dist[a, n] < dist[a, p] + margin]
            if semihard:
                triplets.append((a, p, min(semihard, key=lambda n: dist[a, n])))
    return tuple(torch.tensor(t) for t in zip(*triplets))


@pytest.mark.parametrize('seed', [0, 1])
@pytest.mark.parametrize('mining', ['all', 'hard', 'semihard'])
def test_triplet_matches_pml(seed, mining):
    z, pos, neg = random_pairs(seed, num_samples=10)
    pml = pml_losses.TripletMarginLoss(
        margin=0.5, distance=LpDistance(normalize_embeddings=False),
        reducer=MeanReducer())
    triplets = pml_triplets(z, pos, neg, 0.5, mining)
    assert len(triplets[0]) > 5
    expected = pml(z, None, triplets)
    out = triplet_margin(z, pos, neg, margin=0.5, mining=mining)
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('params', [(2.0, 50.0, 0.5, 0.1), (1.0, 10.0, 0.3, 0.2)])
def test_multi_similarity_matches_pml_with_miner(seed, params):
    alpha, beta, base, epsilon = params
    z, labels, pos, neg = labelled_batch(seed)
    miner = MultiSimilarityMiner(epsilon=epsilon)
    pml = pml_losses.MultiSimilarityLoss(alpha=alpha, beta=beta, base=base,
                                         reducer=MeanReducer())
    mined = miner(z, labels)
    assert len(mined[0]) < pos.size(1) or len(mined[2]) < neg.size(1)
    expected = pml(z, labels, mined)
    out = multi_similarity(z, pos, neg, alpha, beta, base, epsilon)
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('seed', [0, 1])
def test_multi_similarity_without_mining_matches_pml(seed):
    z, labels, pos, neg = labelled_batch(seed)
    pml = pml_losses.MultiSimilarityLoss(alpha=2.0, beta=40.0, base=0.5,
                                         reducer=MeanReducer())
    expected = pml(z, labels)
    out = multi_similarity(z, pos, neg, 2.0, 40.0, 0.5, epsilon=10.0)
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('temperature', [0.07, 0.5])
def test_info_nce_matches_pml_ntxent(seed, temperature):
    z, pos, neg = random_pairs(seed, num_samples=12)
    pml = pml_losses.NTXentLoss(temperature=temperature, reducer=MeanReducer())
    # Anchors 0, 4, 8 lose their negatives. PML counts their positives as 0
    # in its mean; we leave them out.
    neg = neg[:, neg[0] % 4 != 0]
    has_neg = torch.isin(pos[0], neg[0])
    assert 0 < int(has_neg.sum()) < pos.size(1)
    out = info_nce(z, pos, neg, temperature)
    expected = pml(z, None, (pos[0, has_neg], pos[1, has_neg], neg[0], neg[1]))
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
    expected_all = pml(z, None, (pos[0], pos[1], neg[0], neg[1]))
    torch.testing.assert_close(out * has_neg.sum(), expected_all * pos.size(1),
                               rtol=1e-6, atol=1e-6)
