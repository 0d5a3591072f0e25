import pytest
import torch
from torch_geometric.data import Data

from pyg_sip.errors import PygSipError
from pyg_sip.nn import HFEncoder, SequenceEncoder
from pyg_sip.nn.buckets import (
    check_bucket_tokens,
    inverse_order,
    length_buckets,
    resolve_bucket_tokens,
    sequence_extent,
)


def test_sequence_extent_counts_to_last_real_token():
    mask = torch.tensor([[1, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 0, 0, 0, 0],
                         [1, 1, 1, 1, 1]], dtype=torch.bool)
    assert sequence_extent(mask).tolist() == [2, 3, 1, 5]


@pytest.mark.parametrize('budget', [1, 7, 20, 64, 1000])
def test_length_buckets_brute_force(budget):
    gen = torch.Generator().manual_seed(budget)
    extent = torch.randint(1, 30, (57, ), generator=gen)
    buckets = length_buckets(extent, budget, min_saving=0.0)
    if 57 * int(extent.max()) <= budget:
        assert buckets is None
        return
    order = torch.cat([index for index, _ in buckets])
    assert sorted(order.tolist()) == list(range(57))  # a permutation
    sorted_lengths = extent[order].tolist()
    assert sorted_lengths == sorted(extent.tolist(), reverse=True)
    for index, width in buckets:
        assert width == int(extent[index].max())
        assert index.numel() == 1 or index.numel() * width <= budget
    # Greedy: each bucket holds as many samples as its budget allows.
    for (index, width), _ in zip(buckets, buckets[1:]):
        assert index.numel() == max(1, budget // width)
    inverse = inverse_order(buckets)
    assert torch.equal(order[inverse], torch.arange(57))


def test_length_buckets_keep_batch_whole_when_saving_little():
    extent = torch.tensor([10] * 30 + [9] * 30)
    assert length_buckets(extent, 100) is None  # would save 5 %
    assert len(length_buckets(extent, 100, min_saving=0.04)) == 6
    extent = torch.tensor([10] * 10 + [2] * 50)
    assert len(length_buckets(extent, 100)) == 2  # saves 67 %


def test_check_bucket_tokens():
    assert check_bucket_tokens(None) is None and check_bucket_tokens(8) == 8
    assert check_bucket_tokens('auto') == 'auto'
    assert resolve_bucket_tokens('auto', torch.device('cpu')) == 4096
    assert resolve_bucket_tokens(512, torch.device('cpu')) == 512
    for bad in (0, -3, 2.5, True, 'fast', [4]):
        with pytest.raises(PygSipError, match='bucket_tokens'):
            check_bucket_tokens(bad)
    with pytest.raises(PygSipError, match='bucket_tokens'):
        SequenceEncoder(10, 8, 1, 2, bucket_tokens=0)


def ragged_batch(lengths, vocab=(4, 20), pad_id=0, width=None, seed=0):
    gen = torch.Generator().manual_seed(seed)
    width = width or max(lengths)
    ids = torch.full((len(lengths), width), pad_id, dtype=torch.long)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(*vocab, (n, ), generator=gen)
    return ids, ids != pad_id


def twins(make):
    """The same encoder twice: length buckets on, and padded."""
    torch.manual_seed(0)
    bucketed = make(bucket_tokens=40)
    padded = make(bucket_tokens=None)
    padded.load_state_dict(bucketed.state_dict())
    return bucketed, padded


def assert_same_step(bucketed, padded, batch):
    for model in (bucketed, padded):
        model.zero_grad()
    outs = []
    for model in (bucketed, padded):
        z, loss = model.pretrain_step(batch, torch.Generator().manual_seed(5))
        (loss + z.square().sum()).backward()
        outs.append((z, loss))
    (z1, l1), (z2, l2) = outs
    assert l1.item() > 0
    assert torch.allclose(z1, z2, atol=1e-5)
    assert torch.allclose(l1, l2, atol=1e-5)
    for (name, p1), p2 in zip(bucketed.named_parameters(),
                              padded.parameters()):
        if p2.grad is None:
            assert p1.grad is None, name
            continue
        assert torch.allclose(p1.grad, p2.grad, atol=1e-5, rtol=1e-4), name


@pytest.mark.parametrize('pooling', ['cls', 'mean'])
def test_sequence_encoder_buckets_match_padding(pooling, device):
    bucketed, padded = twins(lambda **kw: SequenceEncoder(
        20, 16, 2, 4, max_length=32, dropout=0.0, pooling=pooling,
        out_channels=8, mask_rate=0.3, **kw).to(device))
    lengths = [3, 25, 9, 1, 14, 30, 2, 7, 18, 5, 11]
    ids, mask = ragged_batch(lengths, width=36)  # also truncated to 32
    ids, mask = ids.to(device), mask.to(device)
    # The budget of 40 tokens makes several buckets here:
    extent = torch.tensor(lengths).clamp(max=32)
    assert len(length_buckets(extent, 40)) > 3
    bucketed.eval(), padded.eval()
    with torch.no_grad():
        z1, h1 = bucketed(ids, mask, return_hidden=True)
        z2, h2 = padded(ids, mask, return_hidden=True)
    assert torch.allclose(z1, z2, atol=1e-5)
    real = mask[:, :32]
    assert h1.shape == h2.shape == (11, 32, 16)
    assert torch.allclose(h1[real], h2[real], atol=1e-5)
    bucketed.train(), padded.train()
    batch = Data(input_ids=ids, attention_mask=mask, num_embedded=9)
    assert_same_step(bucketed, padded, batch)


def test_single_bucket_cuts_to_longest():
    bucketed, padded = twins(lambda **kw: SequenceEncoder(
        20, 16, 1, 4, max_length=64, dropout=0.0, pooling='mean', **kw))
    bucketed.bucket_tokens = 10_000
    ids, mask = ragged_batch([4, 6, 2], width=50)
    assert length_buckets(sequence_extent(mask), 10_000) is None
    assert_same_step(bucketed, padded, Data(input_ids=ids,
                                            attention_mask=mask))


def test_hf_encoder_buckets_match_padding(tiny_esm_dir):
    pytest.importorskip('transformers')
    bucketed, padded = twins(lambda **kw: HFEncoder(
        tiny_esm_dir, pooling='mean', mlm=True, mask_rate=0.3,
        out_channels=4, **kw))
    for model in (bucketed, padded):
        model.model.eval()  # no dropout; the heads are deterministic
    lengths = [30, 3, 12, 64, 7, 21, 2]
    ids, mask = ragged_batch(lengths, vocab=(4, 29), pad_id=1)
    ids[:, 0] = 0  # <cls>
    batch = Data(input_ids=ids, attention_mask=mask)
    assert len(length_buckets(sequence_extent(mask), 40)) > 3
    assert_same_step(bucketed, padded, batch)
