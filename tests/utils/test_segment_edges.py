import torch

from pyg_sip.utils import (
    contains,
    csr_from_edges,
    end_to_ptr,
    expand_ranges,
    expand_segments,
    gather_segments,
    has_edges,
    lengths_to_end,
    lengths_to_ptr,
    ptr_to_end,
    segment_ids,
    sorted_edge_keys,
    split_keys,
)


def test_ptr_end_lengths():
    lengths = torch.tensor([2, 0, 3])
    assert lengths_to_ptr(lengths).tolist() == [0, 2, 2, 5]
    assert lengths_to_end(lengths).tolist() == [2, 2, 5]
    assert ptr_to_end(torch.tensor([0, 2, 2, 5])).tolist() == [2, 2, 5]
    assert end_to_ptr(torch.tensor([2, 2, 5])).tolist() == [0, 2, 2, 5]
    assert segment_ids(lengths).tolist() == [0, 0, 2, 2, 2]


def test_expand_against_python_ranges():
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(0, 5, (30, ), generator=gen)
    ptr = lengths_to_ptr(lengths)
    index = torch.randint(0, 30, (40, ), generator=gen)
    seg, pos = expand_segments(ptr, index)
    ref_seg, ref_pos = [], []
    for b, i in enumerate(index.tolist()):
        for p in range(int(ptr[i]), int(ptr[i + 1])):
            ref_seg.append(b)
            ref_pos.append(p)
    assert seg.tolist() == ref_seg and pos.tolist() == ref_pos
    flat, length = gather_segments(ptr[1:], index)
    assert flat.tolist() == ref_pos
    assert length.tolist() == lengths[index].tolist()
    seg, pos = expand_ranges(torch.tensor([5, 1]), torch.tensor([2, 0]))
    assert seg.tolist() == [0, 0] and pos.tolist() == [5, 6]
    seg, pos = expand_ranges(torch.zeros(0, dtype=torch.long),
                             torch.zeros(0, dtype=torch.long))
    assert seg.numel() == 0 and pos.numel() == 0


def test_csr_from_edges():
    edge_index = torch.tensor([[2, 0, 2, 1], [0, 1, 1, 2]])
    rowptr, col, perm = csr_from_edges(edge_index, 4)
    assert rowptr.tolist() == [0, 1, 2, 4, 4]
    assert col.tolist() == [1, 2, 0, 1]
    assert edge_index[1, perm].tolist() == col.tolist()


def test_edge_membership_against_brute_force():
    gen = torch.Generator().manual_seed(1)
    n = 20
    edge_index = torch.randint(0, n, (2, 50), generator=gen)
    keys = sorted_edge_keys(edge_index, n)
    both = sorted_edge_keys(edge_index, n, undirected=True)
    edges = set(map(tuple, edge_index.t().tolist()))
    src, dst = torch.randint(0, n, (2, 300), generator=gen)
    got = has_edges(keys, src, dst, n).tolist()
    got_both = has_edges(both, src, dst, n).tolist()
    for k, (i, j) in enumerate(zip(src.tolist(), dst.tolist())):
        assert got[k] == ((i, j) in edges)
        assert got_both[k] == ((i, j) in edges or (j, i) in edges)
    assert not contains(keys[:0], torch.tensor([1, 2])).any()
    s, d = split_keys(keys, n)
    assert set(zip(s.tolist(), d.tolist())) == edges
