import math

import pytest
import torch

from pyg_sip.sampling import WeightedDraw


def reference(weight, u):
    cdf = torch.cumsum(weight.double(), 0)
    return torch.searchsorted(cdf, u * cdf[-1], right=True).clamp(max=weight.numel() - 1)


@pytest.mark.parametrize('kind', ['uniform', 'powerlaw', 'zeros', 'one_heavy', 'single'])
def test_equals_binary_search(kind):
    gen = torch.Generator().manual_seed(0)
    n = 1 if kind == 'single' else 5000
    weight = {
        'uniform': torch.ones(n),
        'powerlaw': torch.rand(n, generator=gen).pow(-2.0),
        'zeros': torch.where(torch.rand(n, generator=gen) < 0.5, 0.0, 1.0),
        'one_heavy': torch.cat([torch.full((1, ), 1e9), torch.full((n - 1, ), 1e-6)]),
        'single': torch.ones(1),
    }[kind].double()
    draw = WeightedDraw(weight)
    u = torch.rand(200_000, generator=gen, dtype=torch.float64)
    edges = torch.tensor([0.0, 1 - 2**-53, 0.5])  # the ends of [0, 1)
    u = torch.cat([u, edges.double()])
    assert torch.equal(draw.invert(u), reference(weight, u))
    out = draw((7, 3), torch.Generator().manual_seed(1))
    assert out.shape == (7, 3) and out.dtype == torch.long
    if kind == 'zeros':
        assert (weight[draw.invert(u)] > 0).all()


def test_frequencies_match_weights():
    weight = torch.tensor([1.0, 0.0, 3.0, 6.0])
    counts = torch.bincount(WeightedDraw(weight)((100_000, ), torch.Generator().manual_seed(2)),
                            minlength=4).double()
    expected = 100_000 * weight / weight.sum()
    assert counts[1] == 0
    keep = expected > 0
    stat = float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum())
    assert stat < 18.4  # chi2(2), p = 1e-4
    assert math.isclose(float(counts.sum()), 100_000)
