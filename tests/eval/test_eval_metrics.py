import math

import numpy as np
import pytest
import torch

from pyg_sip.errors import PygSipError
from pyg_sip.eval.metrics import auroc, auroc_per_column, average_ranks, spearman, task_metrics


def brute_ranks(v):
    # Rank = 1 + #smaller + (#equal - 1) / 2, straight from the definition.
    v = list(v)
    return [1 + sum(w < x for w in v) + (sum(w == x for w in v) - 1) / 2 for x in v]


def brute_auroc(scores, target):
    pos = [s for s, t in zip(scores, target) if t]
    neg = [s for s, t in zip(scores, target) if not t]
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def test_average_ranks_matches_definition():
    torch.manual_seed(0)
    x = torch.randint(0, 5, (40, 3)).float()  # many ties
    out = average_ranks(x)
    for c in range(3):
        assert out[:, c].tolist() == pytest.approx(brute_ranks(x[:, c].tolist()))
    assert average_ranks(x[:, 0]).tolist() == pytest.approx(brute_ranks(x[:, 0].tolist()))


def test_auroc_matches_pairwise_reference_with_ties():
    torch.manual_seed(1)
    scores = torch.randint(0, 6, (60, )).float()
    target = torch.randint(0, 2, (60, ))
    assert auroc(scores, target) == pytest.approx(brute_auroc(scores.tolist(), target.tolist()))


def test_auroc_matches_sklearn_multilabel_with_missing():
    metrics = pytest.importorskip('sklearn.metrics')
    gen = torch.Generator().manual_seed(2)
    scores = torch.randn(80, 4, generator=gen).round(decimals=1)
    target = (torch.rand(80, 4, generator=gen) < 0.4).float()
    mask = torch.rand(80, 4, generator=gen) > 0.2
    target[:, 3] = 1.0  # a column with one class only: left out of the macro average
    per_col = auroc_per_column(scores, target, mask)
    expected = []
    for c in range(3):
        m = mask[:, c].numpy()
        expected.append(metrics.roc_auc_score(target[m, c].numpy(), scores[m, c].numpy()))
    assert per_col[:3].tolist() == pytest.approx(expected)
    assert math.isnan(per_col[3])
    assert auroc(scores, target, mask) == pytest.approx(np.mean(expected))


def test_auroc_undefined_and_shape_errors():
    assert math.isnan(auroc(torch.rand(5), torch.ones(5)))
    with pytest.raises(PygSipError, match='does not match'):
        auroc(torch.rand(5), torch.ones(4))


def test_spearman_matches_reference():
    gen = torch.Generator().manual_seed(3)
    a = torch.randint(0, 7, (50, ), generator=gen).double()
    b = a + torch.randn(50, generator=gen)
    ra, rb = np.array(brute_ranks(a.tolist())), np.array(brute_ranks(b.tolist()))
    assert spearman(a, b) == pytest.approx(np.corrcoef(ra, rb)[0, 1])


def test_task_metrics_regression_and_multiclass():
    pred = torch.tensor([1.0, 2.0, 4.0])
    y = torch.tensor([1.0, 3.0, 2.0])
    m = task_metrics('regression', pred, y)
    assert m['rmse'] == pytest.approx(math.sqrt(5 / 3))
    assert m['mae'] == pytest.approx(1.0)
    assert m['spearman'] == pytest.approx(0.5)
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 3.0, 0.0], [0, 0, 1.0]])
    m = task_metrics('multiclass', logits, torch.tensor([0, 1, 2, 2]))
    assert m['accuracy'] == pytest.approx(0.75)
    prob = logits.double().softmax(dim=1)
    y = [0, 1, 2, 2]
    expected = np.mean([brute_auroc(prob[:, c].tolist(), [t == c for t in y]) for c in range(3)])
    assert m['auroc'] == pytest.approx(expected)


def test_class_auroc_matches_sklearn_ovr():
    metrics = pytest.importorskip('sklearn.metrics')
    from pyg_sip.eval.metrics import class_auroc
    gen = torch.Generator().manual_seed(4)
    prob = torch.rand(60, 4, generator=gen).double()
    prob = prob / prob.sum(1, keepdim=True)
    y = torch.randint(0, 4, (60, ), generator=gen)
    expected = metrics.roc_auc_score(y.numpy(), prob.numpy(), multi_class='ovr')
    assert class_auroc(prob, y) == pytest.approx(expected)
    binary = metrics.roc_auc_score((y == 1).numpy(), prob[:, 1].numpy())
    assert class_auroc(prob[:, :2], (y == 1).long()) == pytest.approx(binary)
