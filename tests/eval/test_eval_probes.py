import math

import numpy as np
import pytest
import torch

from pyg_sip.errors import PygSipError
from pyg_sip.eval import knn_probe, linear_probe


def brute_auroc(scores, target):
    pos = [s for s, t in zip(scores, target) if t]
    neg = [s for s, t in zip(scores, target) if not t]
    return sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))


def brute_knn(x, y, k, num_classes):
    n = len(x)
    probs = []
    for i in range(n):
        dist = [(float(np.linalg.norm(x[i] - x[j])), j) for j in range(n) if j != i]
        dist.sort()
        nbrs = dist[:k]
        if any(d == 0 for d, _ in nbrs):
            weights = [(1.0 if d == 0 else 0.0, j) for d, j in nbrs]
        else:
            weights = [(1.0 / d, j) for d, j in nbrs]
        votes = [0.0] * num_classes
        for w, j in weights:
            votes[y[j]] += w
        total = sum(votes)
        probs.append([v / total for v in votes])
    pred = [int(np.argmax(p)) for p in probs]
    acc = np.mean([p == t for p, t in zip(pred, y)])
    if num_classes == 2:
        auc = brute_auroc([p[1] for p in probs], [t == 1 for t in y])
    else:
        auc = np.mean([brute_auroc([p[c] for p in probs], [t == c for t in y])
                       for c in range(num_classes) if 0 < sum(t == c for t in y) < n])
    return acc, auc


@pytest.mark.parametrize('num_classes,k', [(3, 3), (2, 5)])
def test_knn_probe_matches_brute_force(num_classes, k, device):
    gen = torch.Generator().manual_seed(num_classes)
    y = torch.randint(0, num_classes, (45, ), generator=gen)
    x = torch.randn(45, 4, generator=gen) + y.unsqueeze(1).float()
    acc, auc = brute_knn(x.double().numpy(), y.tolist(), k, num_classes)
    out = knn_probe(x.to(device), y.to(device), k=k, batch_size=7)  # several row blocks
    assert out['accuracy'] == pytest.approx(acc)
    assert out['auroc'] == pytest.approx(auc)


def test_knn_probe_zero_distance_neighbours_take_all_weight():
    # Sample 0 has an exact duplicate (sample 1, class 1) and two near
    # neighbours of class 0: only the duplicate votes.
    x = torch.tensor([[0.0], [0.0], [0.1], [-0.1], [5.0], [5.1]])
    y = torch.tensor([1, 1, 0, 0, 0, 0])
    acc, auc = brute_knn(x.double().numpy(), y.tolist(), 3, 2)
    out = knn_probe(x, y, k=3)
    assert out['accuracy'] == pytest.approx(acc)
    assert out['auroc'] == pytest.approx(auc)


def test_knn_probe_matches_sklearn():
    neighbors = pytest.importorskip('sklearn.neighbors')
    gen = torch.Generator().manual_seed(5)
    y = torch.randint(0, 3, (30, ), generator=gen)
    x = torch.randn(30, 3, generator=gen) + y.unsqueeze(1).float()
    clf = neighbors.KNeighborsClassifier(n_neighbors=3, weights='distance').fit(x, y)
    pred = []
    for i in range(30):  # leave one out
        keep = torch.arange(30) != i
        pred.append(int(clf.fit(x[keep], y[keep]).predict(x[i:i + 1])[0]))
    assert knn_probe(x, y)['accuracy'] == pytest.approx(np.mean(np.array(pred) == y.numpy()))


def test_knn_probe_errors():
    x = torch.randn(5, 2)
    with pytest.raises(PygSipError, match="'emb' has 5 rows but 'y' has 4"):
        knn_probe(x, torch.zeros(4, dtype=torch.long))
    with pytest.raises(PygSipError, match=r'y\[2\] = -1'):
        knn_probe(x, torch.tensor([0, 1, -1, 0, 1]))
    bad = x.clone()
    bad[3, 1] = float('nan')
    with pytest.raises(PygSipError, match='row 3 contains NaN'):
        knn_probe(bad, torch.zeros(5, dtype=torch.long))
    with pytest.raises(PygSipError, match='k'):
        knn_probe(x, torch.zeros(5, dtype=torch.long), k=5)


def _splits(n, gen):
    perm = torch.randperm(n, generator=gen)
    return perm[:n // 2], perm[n // 2:3 * n // 4], perm[3 * n // 4:]


def test_linear_probe_multiclass_separable(device):
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (120, ), generator=gen)
    x = torch.randn(120, 5, generator=gen) + 4 * torch.nn.functional.one_hot(y, 5).float()
    out = linear_probe(x.to(device), y.to(device), *_splits(120, gen),
                       weight_decays=(1e-3, 1e-1), epochs=30)
    assert out['accuracy'] > 0.95 and out['val_accuracy'] > 0.95
    assert out['auroc'] > 0.99
    assert out['weight_decay'] in (1e-3, 1e-1)


def test_logistic_fit_matches_sklearn_optimum():
    linear_model = pytest.importorskip('sklearn.linear_model')
    from pyg_sip.eval.probes import _fit_logistic
    gen = torch.Generator().manual_seed(1)
    y = torch.randint(0, 3, (90, ), generator=gen)
    x = torch.randn(90, 4, generator=gen).double() + y.unsqueeze(1).double()
    wd = 0.01
    weight = _fit_logistic(x, y, 'multiclass', 3, wd, 500)
    # mean CE + wd ||W||^2  <=>  sklearn: 0.5 ||W||^2 + C sum CE with C = 1 / (2 n wd)
    clf = linear_model.LogisticRegression(C=1 / (2 * 90 * wd), tol=1e-10, max_iter=5000)
    clf.fit(x.numpy(), y.numpy())
    ours = (x @ weight[:-1] + weight[-1]).softmax(dim=1).numpy()
    assert np.abs(ours - clf.predict_proba(x.numpy())).max() < 1e-4


def test_linear_probe_multilabel_with_missing_labels():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(200, 6, generator=gen)
    y = (x[:, :3] > 0).float()
    y[torch.rand(200, 3, generator=gen) < 0.2] = float('nan')
    out = linear_probe(x, y, *_splits(200, gen), weight_decays=(1e-3, ), epochs=30)
    assert out['auroc'] > 0.97 and out['val_auroc'] > 0.97
    assert out['accuracy'] > 0.9


def test_linear_probe_regression_and_errors():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(100, 4, generator=gen)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0]) + 3.0
    out = linear_probe(x, y, *_splits(100, gen), weight_decays=(0.0, 1e-2), epochs=30)
    assert out['rmse'] < 1e-2 and out['spearman'] > 0.99
    idx = torch.arange(10)
    with pytest.raises(PygSipError, match="'val_idx' is empty"):
        linear_probe(x, y, idx, idx[:0], idx)
    with pytest.raises(PygSipError, match=r'test_idx\[1\] = 100'):
        linear_probe(x, y, idx, idx, torch.tensor([0, 100]))
    labels = torch.randint(0, 2, (100, ), generator=gen)
    labels[7] = -3
    with pytest.raises(PygSipError, match=r'y\[7\] = -3'):
        linear_probe(x, labels, torch.arange(50), torch.arange(50, 75), torch.arange(75, 100))
    assert math.isfinite(linear_probe(x, labels, torch.arange(8, 50), torch.arange(50, 75),
                                      torch.arange(75, 100), weight_decays=(0.1, ),
                                      epochs=10)['accuracy'])
