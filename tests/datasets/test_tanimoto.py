"""The blocked Tanimoto graph against a brute force in exact fractions."""
import functools
from fractions import Fraction

import pytest
import torch

from pyg_sip.datasets import similarity
from pyg_sip.datasets.similarity import count_dtype, tanimoto_graph
from pyg_sip.errors import PygSipError


def brute_force(bits, k=None, threshold=None):
    """{(i, j): T} of the undirected graph, by exact fractions; the k nearest
    of each row sorted by (-T, j), so ties go to the smaller index."""
    rows = [set(torch.nonzero(r).view(-1).tolist()) for r in bits]
    n = len(rows)
    sim = {}
    for i in range(n):
        cand = []
        for j in range(n):
            if i == j:
                continue
            union = len(rows[i] | rows[j])
            t = Fraction(len(rows[i] & rows[j]), union) if union else Fraction(0)
            cand.append((-t, j))
        cand.sort()
        chosen = cand[:k] if k is not None else [c for c in cand if -c[0] >= threshold]
        for t, j in chosen:
            if -t > 0:
                sim[(i, j)] = sim[(j, i)] = float(-t)
    return sim


def as_dict(edge_index, weight):
    return {(int(a), int(b)): float(w) for (a, b), w in zip(edge_index.t().tolist(), weight)}


def tied_bits(num=60, bits=24, seed=0):
    """Few distinct fingerprints (many exact ties), a few empty ones."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(12, bits, generator=g) < 0.3
    out = base[torch.randint(12, (num, ), generator=g)]
    out[torch.randint(num, (4, ), generator=g)] = False
    return out


@functools.lru_cache(maxsize=None)
def tied_reference(k):
    return brute_force(tied_bits(), k=k)


@pytest.mark.parametrize('dtype', [None, torch.float32, torch.int8, torch.bfloat16])
@pytest.mark.parametrize('k', [1, 3, 7])
@pytest.mark.parametrize('tile, key_bytes', [
    ((1024, 2048), 1 << 30),  # one tile
    ((7, 9), 1 << 30),  # column tiles narrower than the 2k + 8 candidates
    ((16, 23), 24 * 2 * 23),  # several column blocks, tiles wider than the candidates
])
def test_knn_exact_with_ties(monkeypatch, dtype, k, tile, key_bytes):
    if dtype is not None:
        monkeypatch.setattr(similarity, 'count_dtype', lambda device, m: dtype)
    monkeypatch.setattr(similarity, 'KEY_BYTES', key_bytes)
    monkeypatch.setattr(similarity, 'CPU_TILE', tile)
    bits = tied_bits()
    ref = tied_reference(k)
    for chunk in (None, 1, 13):
        got = as_dict(*tanimoto_graph(bits, k=k, chunk_size=chunk))
        assert got.keys() == ref.keys()
        assert all(got[e] == pytest.approx(ref[e], abs=1e-7) for e in ref)


def test_packed_input(monkeypatch):
    bits = tied_bits(num=40, bits=21, seed=3)
    packed = similarity.pack_bits(bits)
    assert packed.shape == (40, 3) and packed.dtype == torch.uint8
    assert torch.equal(similarity.unpack_bits(packed, 21), bits)
    assert torch.equal(similarity._unpack_columns(packed, 21, torch.int8, step=6),
                       bits.t().to(torch.int8))
    # bit j is bit j % 8 of byte j // 8 (an independent packing):
    ref = [sum(int(b) << (j % 8) for j, b in enumerate(row.tolist()) if j // 8 == w)
           for row in bits[:2] for w in range(3)]
    assert packed[:2].flatten().tolist() == ref
    monkeypatch.setattr(similarity, 'KEY_BYTES', 21 * 2 * 7)
    monkeypatch.setattr(similarity, 'CPU_TILE', (6, 7))
    got = tanimoto_graph(packed, threshold=0.4, num_bits=21)
    assert as_dict(*got).keys() == brute_force(bits, threshold=Fraction(2, 5)).keys()
    with pytest.raises(PygSipError, match=r'must be uint8 of shape \[N, 3\]'):
        tanimoto_graph(bits, k=2, num_bits=21)


def test_threshold_exact():
    bits = tied_bits(seed=1)
    for t in (0.2, 0.5, 1.0):
        ref = brute_force(bits, threshold=Fraction(t).limit_denominator())
        got = as_dict(*tanimoto_graph(bits, threshold=t, chunk_size=9))
        assert got.keys() == ref.keys()


def test_dense_fingerprints_beyond_bfloat16():
    # more than 256 set bits: the exact format must change, results not
    bits = torch.rand(30, 600, generator=torch.Generator().manual_seed(2)) < 0.8
    assert count_dtype(torch.device('cpu'), int(bits.sum(1).max())) != torch.bfloat16
    ref = brute_force(bits, k=2)
    got = as_dict(*tanimoto_graph(bits, k=2))
    assert got.keys() == ref.keys()
    assert all(got[e] == pytest.approx(ref[e], abs=1e-6) for e in ref)


def test_small_and_bad_inputs():
    assert tanimoto_graph(torch.ones(1, 8, dtype=torch.bool), k=3)[0].shape == (2, 0)
    assert tanimoto_graph(torch.zeros(5, 8, dtype=torch.bool), k=2)[0].shape == (2, 0)
    for kwargs, match in [({'k': 0}, 'k must be a positive integer'),
                          ({'k': True}, 'k must be a positive integer'),
                          ({'threshold': 1.5}, r'threshold must be in \(0, 1\]'),
                          ({}, 'exactly one of k and threshold'),
                          ({'k': 2, 'chunk_size': 0}, 'chunk_size must be positive')]:
        with pytest.raises(PygSipError, match=match):
            tanimoto_graph(torch.ones(3, 4), **kwargs)
    with pytest.raises(PygSipError, match=r'0/1 bits, got 2.0 at \[1, 2\]'):
        tanimoto_graph(torch.tensor([[0., 1, 0], [1, 0, 2]]), k=1)
    with pytest.raises(PygSipError, match=r'shape \[N, bits\]'):
        tanimoto_graph(torch.ones(4), k=1)


def test_device(device):
    bits = tied_bits(seed=4).to(device)
    got = as_dict(*(t.cpu() for t in tanimoto_graph(bits, k=3, chunk_size=16)))
    ref = brute_force(bits.cpu(), k=3)
    assert got.keys() == ref.keys()
    assert all(got[e] == pytest.approx(ref[e], abs=1e-6) for e in ref)
