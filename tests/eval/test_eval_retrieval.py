import numpy as np
import pytest
import torch

from pyg_sip.errors import PygSipError
from pyg_sip.eval import link_retrieval


def _candidates(n, u, v, known):
    return [w for w in range(n) if w != u and w != v and (u, w) not in known]


def _data(seed, n=30, m=25):
    gen = torch.Generator().manual_seed(seed)
    emb = torch.randint(-2, 3, (n, 3), generator=gen).float()  # exact dot products, many ties
    src = torch.randint(0, n, (m, ), generator=gen)
    dst = (src + torch.randint(1, n, (m, ), generator=gen)) % n
    known = torch.randint(0, n, (2, 60), generator=gen)
    return emb, torch.stack([src, dst]), known


@pytest.mark.parametrize('filtered', [False, True])
def test_link_retrieval_equals_ogb_evaluator(filtered, device):
    linkproppred = pytest.importorskip('ogb.linkproppred')
    emb, held_out, known = _data(0)
    n = emb.size(0)
    known_set = set(map(tuple, known.t().tolist())) if filtered else set()
    scores = (emb @ emb.t()).tolist()
    pos, negs = [], []
    for u, v in held_out.t().tolist():
        pos.append(scores[u][v])
        negs.append([scores[u][w] for w in _candidates(n, u, v, known_set)])
    width = max(len(row) for row in negs)
    y_neg = torch.full((len(negs), width), float('-inf'))
    for i, row in enumerate(negs):
        y_neg[i, :len(row)] = torch.tensor(row)
    ogb = linkproppred.Evaluator(name='ogbl-citation2').eval(
        {'y_pred_pos': torch.tensor(pos), 'y_pred_neg': y_neg})
    out = link_retrieval(emb.to(device), held_out.to(device),
                         known.to(device) if filtered else None, similarity='dot', batch_size=4)
    for key in ('mrr', 'hits@1', 'hits@3', 'hits@10'):
        assert out[key] == pytest.approx(float(ogb[f'{key}_list'].mean()), abs=1e-6)


@pytest.mark.parametrize('similarity', ['cosine', 'euclidean'])
def test_link_retrieval_matches_brute_force(similarity):
    gen = torch.Generator().manual_seed(1)
    emb = torch.randn(20, 4, generator=gen, dtype=torch.float64)
    held_out = torch.tensor([[0, 3, 7, 7, 19], [1, 2, 8, 0, 5]])
    known = torch.tensor([[0, 0, 7, 3], [2, 1, 9, 4]])  # (0, 1) is a target: never filtered
    x = emb.numpy()

    def sim(a, b):
        if similarity == 'cosine':
            return x[a] @ x[b] / np.linalg.norm(x[a]) / np.linalg.norm(x[b])
        return -np.linalg.norm(x[a] - x[b])

    known_set = set(map(tuple, known.t().tolist()))
    ranks = []
    for u, v in held_out.t().tolist():
        p = sim(u, v)
        others = [sim(u, w) for w in _candidates(20, u, v, known_set)]
        ranks.append(1 + sum(o > p for o in others))
    ranks = np.array(ranks, dtype=float)
    out = link_retrieval(emb, held_out, known, similarity=similarity, ks=(1, 5))
    assert out['mrr'] == pytest.approx(np.mean(1 / ranks))
    assert out['hits@1'] == pytest.approx(np.mean(ranks <= 1))
    assert out['hits@5'] == pytest.approx(np.mean(ranks <= 5))
    assert set(out) == {'mrr', 'hits@1', 'hits@5'}


def test_link_retrieval_batch_size_invariant():
    emb, held_out, known = _data(2, n=40, m=33)
    for similarity in ('dot', 'cosine'):
        if similarity == 'cosine':  # no exact ties, so no rounding-dependent order
            emb = torch.randn(40, 3, generator=torch.Generator().manual_seed(3))
        ref = link_retrieval(emb, held_out, known, similarity, batch_size=1)
        assert link_retrieval(emb, held_out, known, similarity, batch_size=1000) == ref
        assert link_retrieval(emb, held_out, known, similarity) == ref


def test_link_retrieval_errors():
    emb = torch.randn(5, 2)
    with pytest.raises(PygSipError, match=r'edge 1 = \(2, 5\) is out of range'):
        link_retrieval(emb, torch.tensor([[0, 2], [1, 5]]))
    with pytest.raises(PygSipError, match="'held_out_edges' is empty"):
        link_retrieval(emb, torch.zeros(2, 0, dtype=torch.long))
    with pytest.raises(PygSipError, match="unknown similarity 'l1'"):
        link_retrieval(emb, torch.tensor([[0], [1]]), similarity='l1')
    emb[4, 0] = float('inf')
    with pytest.raises(PygSipError, match='row 4 contains inf'):
        link_retrieval(emb, torch.tensor([[0], [1]]))
