import math

import numpy as np
import pytest
import torch

from pyg_sip.errors import PygSipError
from pyg_sip.losses import BilinearLinkLoss, MultiSimilarityLoss
from pyg_sip.objective import SIPObjective

# Hand-computable case: d(0, 1) = 5, d(0, 2) = 1. With pos_margin 0 and
# neg_margin 2 the margin contrastive loss is (5 + (2 - 1)) / 2 = 3.
Z = [[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]]
POS = torch.tensor([[0], [1]])
NEG = torch.tensor([[0], [2]])


def make_z():
    return torch.tensor(Z, requires_grad=True)


def contrastive(lam):
    return SIPObjective('margin_contrastive', lam=lam, pos_margin=0.0,
                        neg_margin=2.0)


@pytest.mark.parametrize('lam', [0.0, 0.25, 0.5, 1.0])
def test_weighted_sum_by_hand(lam):
    out = contrastive(lam)(make_z(), POS, NEG, lm_loss=torch.tensor(2.0))
    assert float(out['loss'].detach()) == pytest.approx(
        (1 - lam) * 2.0 + lam * 3.0)
    assert float(out['lm_loss']) == 2.0
    assert float(out['structure_loss']) == (3.0 if lam > 0 else 0.0)
    assert not out['lm_loss'].requires_grad
    assert not out['structure_loss'].requires_grad


def test_gradient_by_hand():
    z = make_z()
    contrastive(0.5)(z, POS, NEG)['loss'].backward()
    # loss = 0.5 * (d(0, 1) + 2 - d(0, 2)) / 2; the gradient of a distance
    # is the unit vector between the two rows: (z0 - z1) / 5, (z0 - z2) / 1.
    expected = 0.25 * torch.tensor([[-0.6, -0.8], [0.6, 0.8], [0.0, 0.0]])
    expected += 0.25 * torch.tensor([[0.0, 1.0], [0.0, 0.0], [0.0, -1.0]])
    torch.testing.assert_close(z.grad, expected)


def test_lm_loss_none_counts_as_zero():
    out = contrastive(0.25)(make_z(), POS, NEG)
    assert float(out['loss'].detach()) == pytest.approx(0.75)
    assert float(out['lm_loss']) == 0.0


class Exploding(torch.nn.Module):
    def forward(self, z, pos_index, neg_index):
        raise AssertionError('the structure loss must not run at lam = 0')


def test_lam_zero_skips_structure_loss():
    objective = SIPObjective(Exploding(), lam=0.0)
    lm = torch.tensor(1.5, requires_grad=True)
    out = objective(make_z(), POS, NEG, lm_loss=lm)
    assert float(out['loss'].detach()) == 1.5
    out['loss'].backward()
    assert float(lm.grad) == 1.0
    assert float(out['structure_loss']) == 0.0
    z = make_z()
    out = objective(z, POS, NEG)
    assert float(out['loss'].detach()) == 0.0
    out['loss'].backward()
    assert z.grad.abs().sum() == 0


def test_lam_one_is_structure_only():
    out = contrastive(1.0)(make_z(), POS, NEG, lm_loss=torch.tensor(math.nan))
    assert float(out['loss'].detach()) == 3.0
    assert math.isnan(float(out['lm_loss']))


@pytest.mark.parametrize('lam', [-0.1, 1.5, math.nan, math.inf, '0.5', None,
                                 True])
def test_lam_validation(lam):
    with pytest.raises(PygSipError, match="'lam' must be a number in"):
        SIPObjective(lam=lam)
    objective = SIPObjective(lam=0.3)
    with pytest.raises(PygSipError):
        objective.lam = lam
    assert objective.lam == 0.3


def test_structure_loss_validation():
    with pytest.raises(PygSipError, match='Unknown structure loss'):
        SIPObjective('nope')
    with pytest.raises(PygSipError, match="'structure_loss' must be"):
        SIPObjective(lambda z, p, n: z.sum())
    with pytest.raises(PygSipError, match='only apply to a structure loss '
                       'given by name'):
        SIPObjective(MultiSimilarityLoss(), alpha=3.0)
    with pytest.raises(PygSipError, match="'sample_loss' must be a "
                       "floating-point scalar"):
        SIPObjective()(make_z(), POS, NEG, lm_loss=torch.ones(2))


def test_default_and_kwargs():
    objective = SIPObjective()
    assert isinstance(objective.structure_loss, MultiSimilarityLoss)
    assert objective.lam == 0.1
    objective = SIPObjective('multi_similarity', lam=0.5, beta=10.0)
    assert objective.structure_loss.beta == 10.0
    assert SIPObjective(lam=np.float32(0.5)).lam == 0.5


def test_bilinear_parameters_are_registered():
    objective = SIPObjective('bilinear', lam=0.5, dim=2)
    assert isinstance(objective.structure_loss, BilinearLinkLoss)
    params = dict(objective.named_parameters())
    assert set(params) == {'structure_loss.weight', 'structure_loss.bias'}
    optimizer = torch.optim.SGD(objective.parameters(), lr=0.1)
    before = objective.structure_loss.weight.detach().clone()
    z = make_z().detach() + 1.0  # row 0 = 0 would give W no gradient
    objective(z, POS, NEG)['loss'].backward()
    optimizer.step()
    assert not torch.equal(before, objective.structure_loss.weight)


def test_repr():
    assert repr(SIPObjective(lam=0.2)) == (
        'SIPObjective(structure_loss=MultiSimilarityLoss(alpha=2.0, beta=50.0,'
        ' base=0.5, epsilon=0.1), lam=0.2)')
    assert repr(SIPObjective('bilinear', lam=1, dim=4)) == (
        'SIPObjective(structure_loss=BilinearLinkLoss(4, bias=True), lam=1.0)')


def test_half_precision_lm_loss(device):
    z = make_z().to(device)
    out = contrastive(0.5)(z.half(), POS.to(device), NEG.to(device),
                           lm_loss=torch.tensor(2.0, device=device).half())
    assert out['loss'].dtype == torch.float32
    assert float(out['loss'].detach()) == pytest.approx(2.5, rel=1e-3)


def dense_contrastive_reference(z, pos, neg, pos_margin=0.0, neg_margin=2.0):
    """Margin contrastive loss from the dense float64 distance matrix."""
    dist = torch.cdist(z.detach().double(), z.detach().double())
    d_pos, d_neg = dist[pos[0], pos[1]], dist[neg[0], neg[1]]
    total = ((d_pos - pos_margin).clamp(min=0).sum() +
             (neg_margin - d_neg).clamp(min=0).sum())
    return total / (d_pos.numel() + d_neg.numel())


@pytest.mark.parametrize('lam', [0.0, 0.3, 1.0])
def test_float64_kept_against_dense_reference(lam):
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(12, 5, generator=gen, dtype=torch.float64,
                    requires_grad=True)
    pos = torch.randint(0, 12, (2, 20), generator=gen)
    neg = torch.randint(0, 12, (2, 30), generator=gen)
    # 1 + 1e-12 is exactly 1 in float32: only a float64 sum keeps it.
    sample = torch.tensor(1.0 + 1e-12, dtype=torch.float64)
    out = contrastive(lam)(z, pos, neg, sample_loss=sample)
    for key in ('loss', 'sample_loss', 'lm_loss', 'structure_loss'):
        assert out[key].dtype == torch.float64, key
    structure = dense_contrastive_reference(z, pos, neg) if lam > 0 else 0.0
    expected = (1 - lam) * sample + lam * structure
    torch.testing.assert_close(out['loss'].detach(), torch.as_tensor(
        expected, dtype=torch.float64), rtol=1e-14, atol=1e-15)
    if lam < 1:
        assert float(out['loss'].detach()) != (1 - lam) + lam * float(structure)
    assert float(out['sample_loss']) == 1.0 + 1e-12
    if lam > 0:
        out['loss'].backward()
        assert z.grad.dtype == torch.float64


def test_float64_embeddings_with_float32_sample_loss():
    z = make_z().double()
    out = contrastive(0.5)(z, POS, NEG, sample_loss=torch.tensor(2.0))
    assert out['loss'].dtype == torch.float64
    assert float(out['loss'].detach()) == 2.5


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_low_precision_accumulates_in_float32(dtype):
    z = make_z().to(dtype)
    out = contrastive(0.5)(z, POS, NEG, sample_loss=torch.tensor(2.0, dtype=dtype))
    for key in ('loss', 'sample_loss', 'structure_loss'):
        assert out[key].dtype == torch.float32, key
    assert float(out['loss'].detach()) == pytest.approx(2.5, rel=1e-2)


def test_sample_loss_name_and_lm_loss_alias():
    objective = contrastive(0.25)
    by_name = objective(make_z(), POS, NEG, sample_loss=torch.tensor(2.0))
    by_alias = objective(make_z(), POS, NEG, lm_loss=torch.tensor(2.0))
    positional = objective(make_z(), POS, NEG, torch.tensor(2.0))
    for out in (by_name, by_alias, positional):
        assert set(out) == {'loss', 'sample_loss', 'lm_loss', 'structure_loss'}
        assert float(out['loss'].detach()) == pytest.approx(0.75 * 2.0 + 0.25 * 3.0)
        assert float(out['sample_loss']) == float(out['lm_loss']) == 2.0
    with pytest.raises(PygSipError, match="'sample_loss' or its alias "
                       "'lm_loss', not both"):
        objective(make_z(), POS, NEG, sample_loss=torch.tensor(1.0),
                  lm_loss=torch.tensor(1.0))


@pytest.mark.parametrize('bad', [2.0, torch.tensor(2), torch.ones(1, 2),
                                 torch.tensor([])])
def test_sample_loss_validation(bad):
    with pytest.raises(PygSipError, match="'sample_loss' must be a "
                       "floating-point scalar tensor or None"):
        contrastive(0.5)(make_z(), POS, NEG, sample_loss=bad)


@pytest.mark.parametrize('bad', [[[0.0, 1.0]], torch.ones(3, 2, dtype=torch.long)])
def test_embeddings_must_be_floating(bad):
    with pytest.raises(PygSipError, match="'z' must be a floating-point"):
        SIPObjective(lam=0.0)(bad, POS, NEG)


class PerPairLoss(torch.nn.Module):
    def forward(self, z, pos_index, neg_index):
        return z[pos_index[0]].sum(dim=1)


def test_structure_loss_must_return_a_scalar():
    z = torch.zeros(3, 2)
    with pytest.raises(PygSipError, match=r'the structure loss PerPairLoss must return a '
                       r'scalar tensor \(got Tensor \(2,\)\)'):
        SIPObjective(PerPairLoss(), lam=0.5)(z, torch.tensor([[0, 1], [1, 2]]), NEG)
