import math

import pytest
import torch
from torch_geometric.data import Data

from pyg_sip.errors import PygSipError
from pyg_sip.nn import SequenceEncoder


def tiny(**kwargs):
    kwargs = {'vocab_size': 20, 'hidden_channels': 16, 'num_layers': 2,
              'num_heads': 4, 'max_length': 32, 'dropout': 0.0, **kwargs}
    return SequenceEncoder(**kwargs)


def padded(seqs, length=None, pad_id=0):
    length = length or max(len(s) for s in seqs)
    ids = torch.full((len(seqs), length), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
    return ids, ids != pad_id


def reference_forward(model, ids, mask):
    """Dense float64 re-implementation with explicit softmax and -inf mask."""
    def layer_norm(x, ln):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu)**2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + ln.eps) * ln.weight + ln.bias

    def gelu(x):
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))

    def linear(x, lin):
        return x @ lin.weight.T + lin.bias

    B, L = ids.shape
    h = model.token_embedding.weight[ids]
    if model.pooling == 'cls':
        h = torch.cat([model.cls_embedding.expand(B, 1, -1), h], 1)
        mask = torch.cat([torch.ones(B, 1, dtype=torch.bool), mask], 1)
    h = h + model.position_embedding[:h.size(1)]
    nh = model.num_heads
    d = model.hidden_channels // nh
    for layer in model.layers:
        qkv = linear(layer_norm(h, layer.attn_norm), layer.qkv)
        q, k, v = qkv.split(model.hidden_channels, dim=-1)
        heads = []
        for j in range(nh):
            qj, kj, vj = (t[..., j * d:(j + 1) * d] for t in (q, k, v))
            scores = qj @ kj.transpose(1, 2) / math.sqrt(d)
            scores = scores.masked_fill(~mask[:, None, :], float('-inf'))
            heads.append(torch.softmax(scores, -1) @ vj)
        h = h + linear(torch.cat(heads, -1), layer.attn_out)
        ff = gelu(linear(layer_norm(h, layer.ff_norm), layer.ff_in))
        h = h + linear(ff, layer.ff_out)
    h = layer_norm(h, model.norm)
    if model.pooling == 'cls':
        pooled = h[:, 0]
    else:
        w = mask.double().unsqueeze(-1)
        pooled = (h * w).sum(1) / w.sum(1)
    return linear(pooled, model.lin) if model.lin is not None else pooled


@pytest.mark.parametrize('pooling', ['cls', 'mean'])
@pytest.mark.parametrize('positions', ['learned', 'sinusoidal'])
def test_matches_dense_float64_reference(pooling, positions):
    torch.manual_seed(0)
    model = tiny(pooling=pooling, positions=positions, out_channels=8)
    model = model.double().eval()
    ids, mask = padded([[5, 6, 7, 8, 9], [10, 11], [4, 12, 13]])
    with torch.no_grad():
        out = model(ids, mask)
        ref = reference_forward(model, ids, mask)
    assert out.shape == (3, 8)
    assert torch.allclose(out, ref, atol=1e-10)


@pytest.mark.parametrize('pooling', ['cls', 'mean'])
@pytest.mark.parametrize('positions', ['learned', 'sinusoidal'])
def test_padding_invariance(pooling, positions, device):
    torch.manual_seed(0)
    model = tiny(pooling=pooling, positions=positions).to(device).eval()
    seqs = [[5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15, 16], [4] * 20]
    alone = torch.cat([model(*(t.to(device) for t in padded([s])))
                       for s in seqs])
    batched = model(*(t.to(device) for t in padded(seqs, length=25)))
    assert torch.allclose(alone, batched, atol=1e-5)
    # Garbage under the padding mask is ignored (the mask blocks pads):
    ids, mask = padded(seqs, length=25)
    ids[~mask] = 17
    garbage = model(ids.to(device), mask.to(device))
    assert torch.allclose(garbage, batched, atol=1e-5)
    # ... while the same ids as real tokens do change the embedding:
    changed = model(ids.to(device), torch.ones_like(mask).to(device))
    assert not torch.allclose(changed[0], batched[0], atol=1e-3)


def test_truncation_keeps_first_tokens():
    torch.manual_seed(0)
    model = tiny(max_length=4).eval()
    long = torch.tensor([[5, 6, 7, 8, 9, 10, 11]])
    z, hidden = model(long, return_hidden=True)
    assert hidden.shape == (1, 4, 16)
    assert torch.allclose(z, model(long[:, :4]))
    assert torch.allclose(model.encode(Data(input_ids=long)), z)


def test_shapes_and_seeds(device):
    torch.manual_seed(0)
    model = tiny(out_channels=12).to(device)
    ids, mask = padded([[5, 6, 7], [8, 9], [10], [11, 12, 13, 14]])
    batch = Data(input_ids=ids.to(device), attention_mask=mask.to(device),
                 num_seeds=3)
    assert model.out_channels == 12 and not model.needs_graph
    assert model.encode(batch).shape == (3, 12)
    z, loss = model.pretrain_step(batch, torch.Generator().manual_seed(0))
    assert z.shape == (3, 12) and loss.dim() == 0 and loss.requires_grad
    model.eval()
    del batch.num_seeds
    assert torch.allclose(model.encode(batch)[:3],
                          model(ids[:3].to(device), mask[:3].to(device)))


def test_pretrain_step_without_mlm_head():
    model = tiny(mlm=False)
    assert model.mlm_head is None
    ids, mask = padded([[5, 6, 7], [8, 9]])
    z, loss = model.pretrain_step(Data(input_ids=ids, attention_mask=mask))
    assert z.shape == (2, 16) and loss is None


def test_mlm_loss_zero_when_nothing_selected():
    model = tiny()
    ids, mask = padded([[2, 3], [2]])  # special tokens only
    z, loss = model.pretrain_step(Data(input_ids=ids, attention_mask=mask))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()


def test_mlm_loss_decreases(device):
    torch.manual_seed(0)
    model = tiny(vocab_size=12, hidden_channels=32, mask_rate=0.3).to(device)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(4, 12, (8, 12), generator=gen)
    batch = Data(input_ids=ids.to(device),
                 attention_mask=torch.ones_like(ids, dtype=torch.bool).to(
                     device))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        _, loss = model.pretrain_step(batch, torch.Generator().manual_seed(1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_errors():
    with pytest.raises(PygSipError, match='divisible'):
        tiny(hidden_channels=10, num_heads=4)
    with pytest.raises(PygSipError, match='pooling'):
        tiny(pooling='max')
    with pytest.raises(PygSipError, match='positions'):
        tiny(positions='rotary')
    model = tiny(pooling='mean')
    with pytest.raises(PygSipError, match=r'Token id 25 at \(sample 1, '
                       r'position 0\)'):
        model(torch.tensor([[5, 6], [25, 7]]))
    with pytest.raises(PygSipError, match='Sample 1 has no token'):
        model(*padded([[5, 6], []], length=2))
    with pytest.raises(PygSipError, match='input_ids'):
        model.encode(Data(x=torch.zeros(2, 3)))
    with pytest.raises(PygSipError, match='num_seeds'):
        model.encode(Data(input_ids=torch.tensor([[5]]), num_seeds=2))


def test_bert_base_size():
    with torch.device('meta'):  # sizes only, no memory
        model = SequenceEncoder(30, 768, 12, 12, 3072, mlm=False)
    n = sum(p.numel() for p in model.parameters())
    # 12 x (4 x 768^2 + 2 x 768 x 3072) weights dominate BERT-base (85M).
    assert 85e6 < n < 86e6
