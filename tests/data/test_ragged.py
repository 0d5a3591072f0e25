import random

import torch

from pyg_sip.data.ragged import (
    end_to_ptr,
    gather_segments,
    lengths_to_end,
    ptr_to_end,
)


def test_gather_segments_matches_python_reference(device):
    rng = random.Random(0)
    lengths = [rng.choice([0, 0, 1, 2, 5, 9]) for _ in range(40)]
    end = lengths_to_end(torch.tensor(lengths, device=device))
    ptr = end_to_ptr(end)
    assert ptr.tolist() == [0] + [sum(lengths[:i + 1]) for i in range(40)]
    assert torch.equal(ptr_to_end(ptr), end)
    index = [rng.randrange(40) for _ in range(25)] + [0, 39]
    pos, length = gather_segments(end, torch.tensor(index, device=device))
    starts = [sum(lengths[:i]) for i in range(40)]
    ref = [starts[i] + k for i in index for k in range(lengths[i])]
    assert pos.tolist() == ref
    assert length.tolist() == [lengths[i] for i in index]
    assert pos.device.type == device.type


def test_gather_segments_of_nothing():
    pos, length = gather_segments(torch.tensor([2, 5]),
                                  torch.empty(0, dtype=torch.long))
    assert pos.numel() == 0 and length.numel() == 0
