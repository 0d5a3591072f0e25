"""Tanimoto k-NN graphs of Morgan fingerprints (the molecule pre-training
graph): the previous implementation (float32 matrix products on unpacked
bits) against bit-packed alternatives, side by side in one run, and the
scaling of the library's ``tanimoto_graph`` to 10^6 molecules.

Fingerprints: Morgan radius 2, 2,048 bits of RDKit's NCI ``first_5K.smi``
(4,999 molecules, about 2 % of the bits set); larger sets repeat them, each
copy with every set bit dropped with probability 0.1 and as many bits set at
random (the bit-frequency structure of real molecules, no duplicates).
Without RDKit, random bits of the same density (say so: printed).

Implementations (k = 5 neighbours, every one exact):

- ``old``: the previous code: float32 products of unpacked bits in chunks
  of 1,024 rows, ``topk`` on each chunk;
- ``lut_popcount``: packed bytes, AND, a 256-entry lookup table, sum;
- ``numpy_bitwise_count``: packed 64-bit words, ``numpy.bitwise_count``;
- ``float32`` / ``int8`` / ``new``: the library with its number format
  forced to float32, to int8 (``torch._int_mm``), or chosen
  automatically (bfloat16 on CPUs with AMX / AVX-512 BF16, int8 elsewhere,
  float16 on CUDA).

Time is process CPU time (one thread by default), median of ``--repeats``
rounds (one round at the large sizes). At sizes listed in
``--partial-sizes`` the full graph is not built; two extrapolations are
reported and named as such: ``seconds_upper_bound``, the measured time of
the first ``--partial-rows`` query rows against all N molecules (without
the symmetry the full run exploits) times N / rows, and
``seconds_extrapolated_n2``, the largest fully measured size's time scaled
by (N / that size)^2. Memory there is the measured peak of the partial run
(the full run adds its N x k result, 12 bytes per entry); ``packed_mib``
is the packed fingerprints.

    python benchmarks/tanimoto.py --output benchmarks/results/perf_tanimoto.json
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyg_sip.datasets import similarity  # noqa: E402
from pyg_sip.datasets.similarity import pack_bits, tanimoto_graph, tanimoto_top_k  # noqa: E402

import _common as C  # noqa: E402

K, BITS = 5, 2048
HIV_SIZE = 41120


def base_fingerprints() -> Tuple[torch.Tensor, str]:
    try:
        from rdkit import Chem, RDConfig

        from pyg_sip.datasets import morgan_fingerprints
    except ImportError:
        gen = torch.Generator().manual_seed(0)
        return torch.rand(4999, BITS, generator=gen) < 0.021, 'random bits (no RDKit)'
    path = os.path.join(RDConfig.RDDataDir, 'NCI', 'first_5K.smi')
    mols = [Chem.MolFromSmiles(line.split()[0]) for line in open(path)]
    mols = [m for m in mols if m is not None and m.GetNumAtoms() > 0]
    return morgan_fingerprints(mols, 2, BITS), f'Morgan r=2 of {len(mols)} NCI molecules'


def make_packed(base: torch.Tensor, num: int, seed: int = 0) -> torch.Tensor:
    """``num`` packed fingerprints: ``base`` then perturbed copies, built
    block by block (never the whole unpacked matrix)."""
    gen = torch.Generator().manual_seed(seed)
    blocks, done = [], 0
    while done < num:
        part = base[:min(len(base), num - done)].clone()
        if done > 0:
            drop = torch.rand(part.shape, generator=gen) < 0.1
            add_p = (part & drop).sum(1, keepdim=True) / (~part).sum(1, keepdim=True)
            add = torch.rand(part.shape, generator=gen) < add_p
            part = (part & ~drop) | add
        blocks.append(pack_bits(part))
        done += len(part)
    return torch.cat(blocks)


def old_tanimoto_graph(fp: torch.Tensor, k: int, chunk_size: int = 1024) -> torch.Tensor:
    """The previous implementation (float32 on unpacked bits), k-NN part."""
    fp = fp.float()
    num = fp.size(0)
    count = fp.sum(1)
    rows, cols = [], []
    for start in range(0, num, chunk_size):
        end = min(start + chunk_size, num)
        inter = fp[start:end] @ fp.t()
        union = count[start:end, None] + count[None, :] - inter
        sim = inter / union.clamp_min(1)
        local = torch.arange(end - start)
        sim[local, local + start] = -1.0
        sim, col = sim.topk(min(k, num - 1), dim=1)
        keep = sim > 0
        rows.append((local + start).view(-1, 1).expand_as(col)[keep])
        cols.append(col[keep])
    return torch.stack([torch.cat(rows), torch.cat(cols)])


def lut_popcount(packed: torch.Tensor, k: int, chunk: int = 64) -> torch.Tensor:
    table = torch.tensor([bin(v).count('1') for v in range(256)], dtype=torch.int16)
    count = table[packed.long()].sum(1).float()
    out = []
    for start in range(0, packed.size(0), chunk):
        q = packed[start:start + chunk]
        inter = table[(q[:, None, :] & packed[None]).long()].sum(-1).float()
        sim = inter / (count[start:start + chunk, None] + count[None] - inter).clamp_min(1)
        local = torch.arange(q.size(0))
        sim[local, local + start] = -1.0
        out.append(sim.topk(k, dim=1).indices)
    return torch.cat(out)


def numpy_bitwise_count(packed: torch.Tensor, k: int, chunk: int = 64) -> torch.Tensor:
    words = packed.numpy().view(np.uint64)
    count = np.bitwise_count(words).sum(1).astype(np.float32)
    out = []
    for start in range(0, len(words), chunk):
        q = words[start:start + chunk]
        inter = np.bitwise_count(q[:, None, :] & words[None]).sum(-1, dtype=np.float32)
        sim = inter / np.maximum(count[start:start + chunk, None] + count[None] - inter, 1)
        sim[np.arange(len(q)), np.arange(len(q)) + start] = -1.0
        out.append(torch.from_numpy(sim).topk(k, dim=1).indices)
    return torch.cat(out)


def forced(dtype: torch.dtype) -> Callable:
    def run(packed: torch.Tensor) -> object:
        saved = similarity.count_dtype
        similarity.count_dtype = lambda device, m: dtype
        try:
            return tanimoto_graph(packed, k=K, num_bits=BITS)
        finally:
            similarity.count_dtype = saved
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    C.add_common_args(parser, repeats=3)
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[2000, 5000, 10000, HIV_SIZE, 100000])
    parser.add_argument('--partial-sizes', type=int, nargs='*', default=[300000, 1000000])
    parser.add_argument('--partial-rows', type=int, default=4096)
    parser.add_argument('--old-max', type=int, default=HIV_SIZE,
                        help='largest size the old implementation runs at')
    parser.add_argument('--alt-max', type=int, default=2000,
                        help='largest size of the popcount alternatives')
    parser.add_argument('--format-max', type=int, default=10000,
                        help='largest size of the forced float32 / int8 formats')
    args = parser.parse_args()
    device = C.setup(args)
    base, source = base_fingerprints()
    print(f'# fingerprints: {source}; k = {K}; automatic format on this machine: '
          f'{similarity.count_dtype(device, 256)}')
    rows: List[dict] = []
    summary: List[dict] = []
    largest = None
    for num in args.sizes + args.partial_sizes:
        packed = make_packed(base, num).to(device)
        size = str(num)
        partial = num in args.partial_sizes
        impls: Dict[str, Callable[[], object]] = {}
        if partial:
            rows_done = min(args.partial_rows, num)
            impls['new'] = lambda p=packed, r=rows_done: tanimoto_top_k(p, BITS, K, 0, r)
        else:
            if num <= args.old_max:
                unpacked = similarity.unpack_bits(packed, BITS)
                impls['old'] = lambda u=unpacked: old_tanimoto_graph(u, K)
            if num <= args.alt_max and device.type == 'cpu':
                impls['lut_popcount'] = lambda p=packed: lut_popcount(p, K)
                impls['numpy_bitwise_count'] = lambda p=packed: numpy_bitwise_count(p, K)
            if num <= args.format_max:
                impls['float32'] = lambda p=packed: forced(torch.float32)(p)
                if device.type == 'cpu':
                    impls['int8'] = lambda p=packed: forced(torch.int8)(p)
            impls['new'] = lambda p=packed: tanimoto_graph(p, k=K, num_bits=BITS)
        repeats = args.repeats if num <= 10000 else 1
        times = C.measure(impls, device, repeats, warmup=1 if num <= 10000 else 0)
        scale = num / rows_done if partial else 1.0
        metric = 'seconds_upper_bound' if partial else 'seconds'
        for name, seconds in times.items():
            rows.append(C.row('tanimoto_knn', name, size, metric, seconds * scale, 's'))
            line = {'N': size, 'impl': name, 'seconds': C.fmt(seconds * scale),
                    'how': f'{rows_done} rows x N' if partial else 'measured',
                    'vs old': C.fmt(C.ratio(times.get('old'), seconds)), 'peak MiB': '-'}
            if name == 'new':
                memory = C.peak_memory(impls[name], device) / C.MIB
                rows.append(C.row('tanimoto_knn', name, size, 'peak_memory_mib', memory, 'MiB'))
                line['peak MiB'] = C.fmt(memory)
            if 'old' in times and name != 'old':
                rows.append(C.row('tanimoto_knn', name, size, 'speedup_vs_old',
                                  times['old'] / seconds, 'x'))
            summary.append(line)
            print(line, flush=True)
        if partial and largest is not None:
            guess = largest[1] * (num / largest[0]) ** 2
            rows.append(C.row('tanimoto_knn', 'new', size, 'seconds_extrapolated_n2', guess, 's'))
            line = {'N': size, 'impl': 'new', 'seconds': C.fmt(guess),
                    'how': f'N^2 from {largest[0]}', 'vs old': '-', 'peak MiB': '-'}
            summary.append(line)
            print(line, flush=True)
        if not partial:
            largest = (num, times['new'])
        rows.append(C.row('tanimoto_knn', 'new', size, 'packed_mib', packed.numel() / C.MIB,
                          'MiB'))
    C.finish(rows, args.output, summary)


if __name__ == '__main__':
    main()
