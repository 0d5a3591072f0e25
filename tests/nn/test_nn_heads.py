import numpy as np
import pytest
import torch

from pyg_sip.errors import PygSipError
from pyg_sip.nn import FeatureMaskingHead, MLMHead


def test_mlm_head_loss_matches_numpy_reference():
    torch.manual_seed(0)
    head = MLMHead(8, 11).double()
    hidden = torch.randn(3, 5, 8, dtype=torch.double)
    labels = torch.full((3, 5), -100)
    labels[0, 1], labels[1, 4], labels[2, 0] = 7, 3, 10
    loss = head.loss(hidden, labels)

    logits = head(hidden).detach().numpy()
    terms = []
    for (i, j) in [(0, 1), (1, 4), (2, 0)]:
        row = logits[i, j]
        lse = np.log(np.exp(row - row.max()).sum()) + row.max()
        terms.append(lse - row[labels[i, j]])
    assert abs(loss.item() - float(np.mean(terms))) < 1e-12
    assert head(hidden).shape == (3, 5, 11)


def test_mlm_head_empty_selection_is_connected_zero():
    head = MLMHead(4, 6)
    hidden = torch.randn(2, 3, 4, requires_grad=True)
    loss = head.loss(hidden, torch.full((2, 3), -100))
    assert loss.item() == 0.0
    loss.backward()
    assert hidden.grad is not None and (hidden.grad == 0).all()


@pytest.mark.parametrize('reconstruction', ['mse', 'bce'])
def test_feature_masking_loss_matches_reference(reconstruction):
    torch.manual_seed(0)
    head = FeatureMaskingHead(6, 4, mask_rate=0.5,
                              reconstruction=reconstruction).double()
    x = (torch.rand(5, 6, dtype=torch.double) > 0.5).double()
    z = torch.randn(5, 4, dtype=torch.double)
    corrupted, mask = head.corrupt(x, torch.Generator().manual_seed(0))
    assert 0 < mask.sum() < mask.numel()
    assert torch.equal(corrupted[~mask], x[~mask])
    fill = head.mask_embedding.detach().expand_as(x)
    assert torch.equal(corrupted[mask], fill[mask])

    pred = (z @ head.decoder.weight.T + head.decoder.bias).detach().numpy()
    xs, m = x.numpy(), mask.numpy()
    if reconstruction == 'mse':
        ref = ((pred - xs)**2)[m].mean()
    else:
        p = 1 / (1 + np.exp(-pred))
        ref = -(xs * np.log(p) + (1 - xs) * np.log(1 - p))[m].mean()
    assert abs(head.loss(z, x, mask).item() - ref) < 1e-10


def test_feature_masking_zero_fill_and_errors():
    head = FeatureMaskingHead(3, 2, mask_rate=1.0, mask_value='zero')
    corrupted, mask = head.corrupt(torch.ones(4, 3))
    assert mask.all() and (corrupted == 0).all()
    assert head.mask_embedding is None
    with pytest.raises(PygSipError, match='reconstruction'):
        FeatureMaskingHead(3, 2, reconstruction='l1')
    with pytest.raises(PygSipError, match='mask_value'):
        FeatureMaskingHead(3, 2, mask_value='mean')
    with pytest.raises(PygSipError, match='mask_rate'):
        FeatureMaskingHead(3, 2, mask_rate=-0.1)
