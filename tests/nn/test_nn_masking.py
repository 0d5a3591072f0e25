import pytest
import torch

from pyg_sip.errors import PygSipError
from pyg_sip.nn import mask_entries, mask_tokens

SPECIAL = [0, 1, 2, 3]
VOCAB = 30


def random_tokens(B, L, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, VOCAB, (B, L), generator=gen)
    # Sprinkle special tokens (CLS/UNK/MASK-like) among real tokens:
    special = torch.rand(B, L, generator=gen) < 0.1
    ids[special] = torch.randint(1, 4, (int(special.sum()), ), generator=gen)
    lengths = torch.randint(1, L + 1, (B, ), generator=gen)
    attention_mask = torch.arange(L) < lengths.unsqueeze(1)
    ids[~attention_mask] = 0
    return ids, attention_mask


def test_mask_tokens_bert_rule_statistics(device):
    ids, attention_mask = random_tokens(400, 250)
    ids, attention_mask = ids.to(device), attention_mask.to(device)
    gen = torch.Generator().manual_seed(12345)
    out, labels = mask_tokens(ids, VOCAB, 1, SPECIAL, attention_mask,
                              generator=gen)
    assert out.shape == ids.shape and labels.shape == ids.shape
    ids, out, labels = ids.cpu(), out.cpu(), labels.cpu()
    attention_mask = attention_mask.cpu()

    eligible = attention_mask & (ids >= 4)
    selected = labels != -100
    # Pads and special tokens are never selected:
    assert not (selected & ~eligible).any()
    # Labels hold the original id where selected:
    assert torch.equal(labels[selected], ids[selected])
    # Nothing changes outside the selection:
    assert torch.equal(out[~selected], ids[~selected])

    n_eligible = int(eligible.sum())
    n_selected = int(selected.sum())
    rate = n_selected / n_eligible
    sd = (0.15 * 0.85 / n_eligible)**0.5
    assert abs(rate - 0.15) < 5 * sd

    orig, new = ids[selected], out[selected]
    is_mask = new == 1
    is_random = (new != 1) & (new != orig)
    is_kept = new == orig
    sd = (0.8 * 0.2 / n_selected)**0.5
    assert abs(is_mask.float().mean().item() - 0.8) < 5 * sd
    # A random draw equals the original with probability 1 / 26:
    p_random = 0.1 * (1 - 1 / 26)
    sd = (p_random * (1 - p_random) / n_selected)**0.5
    assert abs(is_random.float().mean().item() - p_random) < 5 * sd
    assert abs(is_kept.float().mean().item() - (1 - 0.8 - p_random)) < 5 * sd

    # Random replacements are regular tokens, and all regular tokens occur:
    replaced = new[~is_mask]
    assert replaced.min() >= 4 and replaced.max() < VOCAB
    drawn = new[is_random]
    assert set(drawn.tolist()) == set(range(4, VOCAB))
    # The only special id ever produced is the mask id:
    produced_special = out[(out < 4) & attention_mask]
    assert set(produced_special.tolist()) <= {1, 2, 3}
    assert torch.equal(out[(ids < 4)], ids[(ids < 4)])


def test_mask_tokens_generator_is_reproducible():
    ids, attention_mask = random_tokens(8, 20)
    a = mask_tokens(ids, VOCAB, 1, SPECIAL, attention_mask,
                    generator=torch.Generator().manual_seed(3))
    b = mask_tokens(ids, VOCAB, 1, SPECIAL, attention_mask,
                    generator=torch.Generator().manual_seed(3))
    c = mask_tokens(ids, VOCAB, 1, SPECIAL, attention_mask,
                    generator=torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_mask_tokens_without_attention_mask_skips_pads():
    ids = torch.tensor([[5, 6, 0, 0], [7, 0, 0, 0]])
    out, labels = mask_tokens(ids, VOCAB, 1, SPECIAL, mask_rate=1.0,
                              replace_rate=1.0, random_rate=0.0)
    assert out.tolist() == [[1, 1, 0, 0], [1, 0, 0, 0]]
    assert labels.tolist() == [[5, 6, -100, -100], [7, -100, -100, -100]]


def test_mask_tokens_rejects_bad_rates():
    ids = torch.tensor([[5, 6]])
    with pytest.raises(PygSipError, match='mask_rate'):
        mask_tokens(ids, VOCAB, 1, SPECIAL, mask_rate=1.5)
    with pytest.raises(PygSipError, match='must not exceed 1'):
        mask_tokens(ids, VOCAB, 1, SPECIAL, replace_rate=0.8, random_rate=0.3)


def test_mask_entries_rate(device):
    gen = torch.Generator().manual_seed(0)
    mask = mask_entries((200, 100), 0.3, device, gen)
    assert mask.dtype == torch.bool and mask.device.type == device.type
    assert abs(mask.float().mean().item() - 0.3) < 5 * (0.21 / 20000)**0.5
    assert not mask_entries((10, 10), 0.0, device).any()
