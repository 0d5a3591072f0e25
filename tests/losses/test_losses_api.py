"""Registry, reprs, input validation, empty inputs, precisions and devices of
the structure losses."""
import math

import pytest
import torch

import pyg_sip.losses as L
from pyg_sip.errors import PygSipError

NAMES = ['bilinear', 'info_nce', 'margin_contrastive', 'multi_similarity',
         'triplet_margin']
KWARGS = {'bilinear': {'dim': 8}}
FUNCTIONS = {
    'margin_contrastive': L.margin_contrastive,
    'triplet_all': lambda z, p, n, **kw: L.triplet_margin(z, p, n, **kw),
    'triplet_hard': lambda z, p, n, **kw: L.triplet_margin(
        z, p, n, mining='hard', **kw),
    'triplet_semihard': lambda z, p, n, **kw: L.triplet_margin(
        z, p, n, margin=1.0, mining='semihard', **kw),
    'multi_similarity': L.multi_similarity,
    'info_nce': L.info_nce,
    'bilinear': lambda z, p, n, **kw: L.bilinear_link(
        z, p, n, torch.eye(z.size(-1), device=z.device),
        torch.zeros(1, device=z.device), **kw),
}


def random_case(num_samples=30, dim=8, num_pos=40, num_neg=120, seed=0,
                dtype=torch.float32, device='cpu'):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num_samples, dim, generator=gen).to(device, dtype)
    pos = torch.randint(0, num_samples, (2, num_pos), generator=gen)
    neg = torch.randint(0, num_samples, (2, num_neg), generator=gen)
    return z, pos.to(device), neg.to(device)


def test_registry_names():
    assert L.available_losses() == NAMES
    classes = [L.BilinearLinkLoss, L.InfoNCELoss, L.MarginContrastiveLoss,
               L.MultiSimilarityLoss, L.TripletMarginLoss]
    for name, cls in zip(NAMES, classes):
        assert type(L.get_loss(name, **KWARGS.get(name, {}))) is cls
    loss = L.get_loss('triplet_margin', margin=0.3, mining='hard')
    assert (loss.margin, loss.mining) == (0.3, 'hard')


def test_registry_errors():
    with pytest.raises(PygSipError, match='known: bilinear, info_nce, '
                       'margin_contrastive, multi_similarity, triplet_margin'):
        L.get_loss('contrastive')
    with pytest.raises(PygSipError, match="'multi_similarity'.*gamma"):
        L.get_loss('multi_similarity', gamma=1.0)
    with pytest.raises(PygSipError, match="'bilinear'.*dim"):
        L.get_loss('bilinear')
    with pytest.raises(PygSipError, match='already registered'):
        L.register_loss('info_nce')(torch.nn.Identity)


def test_register_custom_loss():
    @L.register_loss('test_mean_norm')
    class MeanNorm(torch.nn.Module):
        def forward(self, z, pos_index, neg_index):
            return z.norm(dim=-1).mean()

    try:
        assert isinstance(L.get_loss('test_mean_norm'), MeanNorm)
        assert 'test_mean_norm' in L.available_losses()
    finally:
        from pyg_sip.losses.registry import _LOSSES
        del _LOSSES['test_mean_norm']


def test_repr():
    assert repr(L.MarginContrastiveLoss()) == (
        'MarginContrastiveLoss(pos_margin=0.0, neg_margin=1.0)')
    assert repr(L.TripletMarginLoss(0.2, 'semihard')) == (
        "TripletMarginLoss(margin=0.2, mining='semihard')")
    assert repr(L.MultiSimilarityLoss()) == (
        'MultiSimilarityLoss(alpha=2.0, beta=50.0, base=0.5, epsilon=0.1)')
    assert repr(L.InfoNCELoss(0.05)) == 'InfoNCELoss(temperature=0.05)'
    assert repr(L.BilinearLinkLoss(16)) == 'BilinearLinkLoss(16, bias=True)'
    assert repr(L.BilinearLinkLoss(4, bias=False)) == (
        'BilinearLinkLoss(4, bias=False)')


def test_bilinear_parameters_and_reset():
    loss = L.BilinearLinkLoss(16)
    assert [n for n, _ in loss.named_parameters()] == ['weight', 'bias']
    assert loss.weight.abs().max() <= 0.25
    before = loss.weight.detach().clone()
    torch.manual_seed(1)
    loss.reset_parameters()
    assert not torch.equal(before, loss.weight)
    assert list(L.BilinearLinkLoss(4, bias=False).parameters())[0].shape == (4, 4)
    z, pos, neg = random_case(dim=16)
    loss(z, pos, neg).backward()
    assert loss.weight.grad.abs().sum() > 0 and loss.bias.grad.abs() > 0
    with pytest.raises(PygSipError, match=r"'weight' must have shape \[8, 8\]"):
        L.bilinear_link(*random_case(), torch.eye(4))
    with pytest.raises(PygSipError, match="'dim'"):
        L.BilinearLinkLoss(0)


@pytest.mark.parametrize('name', list(FUNCTIONS))
def test_input_validation(name):
    fn = FUNCTIONS[name]
    z, pos, neg = random_case()
    with pytest.raises(PygSipError, match="'pos_index' must have dtype"):
        fn(z, pos.int(), neg)
    with pytest.raises(PygSipError, match=r"'neg_index' must have shape \[2"):
        fn(z, pos, neg[0])
    with pytest.raises(PygSipError, match=r"'pos_index' must have shape"):
        fn(z, torch.cat([pos, pos[:1]]), neg)
    with pytest.raises(PygSipError, match="'z' must be a"):
        fn(z[0], pos, neg)
    with pytest.raises(PygSipError, match="'z' must be a floating"):
        fn(z.long(), pos, neg)
    bad = neg.clone()
    bad[1, 7] = 30
    with pytest.raises(PygSipError, match=r"'neg_index' column 7 .* 30 samples"):
        fn(z, pos, bad)
    bad = pos.clone()
    bad[0, 3] = -1
    with pytest.raises(PygSipError, match="'pos_index' column 3"):
        fn(z, bad, neg, validate=True)
    # validate=False skips the range check (then torch raises its own error).
    with pytest.raises((IndexError, RuntimeError)):
        fn(z, bad, neg, validate=False)


def test_hyperparameter_validation():
    z, pos, neg = random_case()
    with pytest.raises(PygSipError, match="'mining' must be one of"):
        L.triplet_margin(z, pos, neg, mining='hardest')
    with pytest.raises(PygSipError, match="'mining'"):
        L.TripletMarginLoss(mining='easy')
    with pytest.raises(PygSipError, match="'temperature'"):
        L.info_nce(z, pos, neg, temperature=0.0)
    with pytest.raises(PygSipError, match="'beta'"):
        L.MultiSimilarityLoss(beta=-1.0)
    with pytest.raises(PygSipError, match="'margin'"):
        L.TripletMarginLoss(margin=float('nan'))


EMPTY = torch.empty(2, 0, dtype=torch.long)


@pytest.mark.parametrize('name', list(FUNCTIONS))
@pytest.mark.parametrize('case', ['no_pairs', 'no_pos', 'disjoint_anchors'])
def test_no_terms_gives_connected_zero(name, case, device):
    fn = FUNCTIONS[name]
    z = torch.randn(6, 8, device=device, requires_grad=True)
    pos = torch.tensor([[0, 1], [2, 3]], device=device)
    neg = torch.tensor([[4, 5], [0, 1]], device=device)  # other anchors
    empty = EMPTY.to(device)
    pos, neg = {'no_pairs': (empty, empty), 'no_pos': (empty, neg),
                'disjoint_anchors': (pos, neg)}[case]
    loss = fn(z, pos, neg)
    assert loss.dim() == 0 and loss.dtype == torch.float32
    loss.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
    # Pair losses still have terms unless there are no pairs at all.
    if name not in ('margin_contrastive', 'bilinear') or case == 'no_pairs':
        assert float(loss.detach()) == 0.0
        assert z.grad.abs().sum() == 0


@pytest.mark.parametrize('name', list(FUNCTIONS))
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_low_precision_accumulates_in_float32(name, dtype, device):
    fn = FUNCTIONS[name]
    z, pos, neg = random_case(dtype=dtype, device=device)
    z.requires_grad_()
    out = fn(z, pos, neg)
    assert out.dtype == torch.float32
    expected = fn(z.detach().float(), pos, neg)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    out.backward()
    assert z.grad.dtype == dtype and torch.isfinite(z.grad.float()).all()


@pytest.mark.parametrize('name', list(FUNCTIONS))
def test_autocast_keeps_float32(name, device):
    fn = FUNCTIONS[name]
    z, pos, neg = random_case(device=device)
    expected = fn(z, pos, neg)
    with torch.autocast(device.type, dtype=torch.bfloat16):
        out = fn(z, pos, neg)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('name', list(FUNCTIONS))
def test_device_matches_cpu_float64(name, device):
    fn = FUNCTIONS[name]
    z, pos, neg = random_case(num_samples=200, dim=16, num_pos=800,
                              num_neg=3000, seed=3)
    z64 = z.double().requires_grad_()
    expected = fn(z64, pos, neg)
    expected.backward()
    z_dev = z.to(device).requires_grad_()
    out = fn(z_dev, pos.to(device), neg.to(device))
    out.backward()
    torch.testing.assert_close(out.double().cpu(), expected.detach(),
                               rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(z_dev.grad.double().cpu(), z64.grad, rtol=1e-3,
                               atol=1e-5)


def test_blocked_pair_scores_match_unblocked(monkeypatch):
    from pyg_sip.losses import _pairs
    z, pos, neg = random_case(num_samples=50, dim=8, num_pos=300, num_neg=700,
                              dtype=torch.float64)
    results = []
    for elements in (8 * 64, 1 << 20):  # 64 pairs per block, or one block
        monkeypatch.setitem(_pairs._BLOCK_ELEMENTS, 'cpu', elements)
        zz = z.clone().requires_grad_()
        out = L.multi_similarity(zz, pos, neg) + L.triplet_margin(zz, pos, neg)
        out.backward()
        results.append((out.detach(), zz.grad))
    torch.testing.assert_close(results[0], results[1])


def test_segment_logsumexp():
    src = torch.tensor([0.5, -1.0, 80.0, float('-inf'), 3.0],
                       dtype=torch.float64, requires_grad=True)
    index = torch.tensor([0, 0, 1, 2, 1])
    out = L.segment_logsumexp(src, index, 4)
    expected = [math.log(math.exp(0.5) + math.exp(-1.0)),
                80.0 + math.log1p(math.exp(3.0 - 80.0)),
                float('-inf'), float('-inf')]
    assert out.tolist()[:2] == pytest.approx(expected[:2])
    assert out.tolist()[2:] == expected[2:]
    out_one = L.segment_logsumexp(src, index, 4, add_one=True)
    expected_one = [math.log(1 + math.exp(0.5) + math.exp(-1.0)),
                    80.0 + math.log1p(math.exp(3.0 - 80.0) + math.exp(-80.0)),
                    0.0, 0.0]
    assert out_one.tolist() == pytest.approx(expected_one)
    torch.where(torch.isfinite(out), out, 0.0).sum().backward()
    assert torch.isfinite(src.grad).all()
    assert src.grad[3] == 0
    assert float(src.grad[:2].sum()) == pytest.approx(1.0)


@pytest.mark.slow
@pytest.mark.parametrize('name', list(FUNCTIONS))
def test_torch_compile_gives_same_value(name):
    fn = FUNCTIONS[name]
    compiled = torch.compile(fn, dynamic=True)
    for seed, num_pos in ((0, 40), (1, 57)):
        z, pos, neg = random_case(seed=seed, num_pos=num_pos)
        z.requires_grad_()
        out = compiled(z, pos, neg)
        out.backward()
        grad = z.grad.clone()
        z.grad = None
        expected = fn(z, pos, neg)
        expected.backward()
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(grad, z.grad, rtol=1e-4, atol=1e-6)
