"""torch.compile(dynamic=True) compiles each structure loss once for all
batch sizes, and agrees with a dense float64 reference."""
import pytest
import torch

import pyg_sip.losses as L


def case(num_samples, seed):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num_samples, 8, generator=gen)
    anchor = torch.arange(num_samples)
    pos = torch.stack([anchor.repeat_interleave(2),
                       torch.randint(num_samples, (2 * num_samples,),
                                     generator=gen)])
    neg = torch.stack([anchor.repeat_interleave(5),
                       torch.randint(num_samples, (5 * num_samples,),
                                     generator=gen)])
    return z, pos, neg


def dense_contrastive(z, pos, neg):
    z = z.double()
    d_pos = (z[pos[0]] - z[pos[1]]).norm(dim=-1)
    d_neg = (z[neg[0]] - z[neg[1]]).norm(dim=-1)
    return (d_pos.relu().sum() + (1.0 - d_neg).relu().sum()) / (
        d_pos.numel() + d_neg.numel())


@pytest.mark.slow
@pytest.mark.parametrize('name', ['margin_contrastive', 'triplet_margin',
                                  'multi_similarity', 'info_nce', 'bilinear'])
def test_compiles_once_for_all_sizes(name):
    torch._dynamo.reset()
    fn = getattr(L, 'bilinear_link' if name == 'bilinear' else name)
    weight = torch.eye(8)
    call = (lambda z, p, n: fn(z, p, n, weight)) if name == 'bilinear' \
        else fn
    compiled = torch.compile(call, dynamic=True)
    with torch._dynamo.config.patch(error_on_recompile=True):
        for num_samples, seed in ((40, 0), (57, 1), (133, 2)):
            z, pos, neg = case(num_samples, seed)
            x = z.clone().requires_grad_()
            out = compiled(x, pos, neg)
            out.backward()
            y = z.clone().requires_grad_()
            expected = call(y, pos, neg)
            expected.backward()
            torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(x.grad, y.grad, rtol=1e-4, atol=1e-6)
            if name == 'margin_contrastive':
                ref = dense_contrastive(z, pos, neg)
                torch.testing.assert_close(out.double(), ref, rtol=1e-5,
                                           atol=1e-6)
