"""Malformed and hostile inputs of the citation adapters (Planetoid roots,
OGB-format roots): each a PygSipError naming the file (and line); nothing
planted in a dataset folder runs."""
import gzip
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hostile import raises_at
from torch_geometric.utils import coalesce

from pyg_sip.datasets import CitationGraph, TextLinkGraph, load_planetoid

DATA = Path(__file__).resolve().parents[2] / 'datasets'


class Planted:
    """A pickle whose loading would create ``marker``."""
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


@pytest.fixture
def cora(tmp_path):
    shutil.copytree(DATA / 'planetoid' / 'Cora' / 'raw', tmp_path / 'Cora' / 'raw')
    return tmp_path


@pytest.mark.parametrize('name', ['x', 'graph', 'ally'])
def test_planted_raw_pickle_does_not_run(cora, name):
    marker = cora / 'marker'
    path = cora / 'Cora' / 'raw' / f'ind.cora.{name}'
    path.write_bytes(pickle.dumps(Planted(marker), protocol=2))
    raises_at(lambda: load_planetoid(cora, 'Cora'), path, None, "forbidden object 'posix.system'")
    assert not marker.exists()


def test_planted_processed_file_is_never_loaded(cora):
    marker = cora / 'marker'
    processed = cora / 'Cora' / 'processed'
    processed.mkdir()
    for name in ('data.pt', 'pre_transform.pt', 'pre_filter.pt'):
        (processed / name).write_bytes(pickle.dumps(Planted(marker)))
    graph = load_planetoid(cora, 'Cora')
    assert graph.num_nodes == 2708 and not marker.exists()
    assert sorted(p.name for p in processed.iterdir()) == ['data.pt', 'pre_filter.pt',
                                                           'pre_transform.pt']


def test_truncated_pickle(cora):
    path = cora / 'Cora' / 'raw' / 'ind.cora.tx'
    path.write_bytes(path.read_bytes()[:1000])
    raises_at(lambda: load_planetoid(cora, 'Cora'), path, None, 'not a Planetoid pickle')


def test_test_index_unicode_digit(cora):
    path = cora / 'Cora' / 'raw' / 'ind.cora.test.index'
    lines = path.read_text().splitlines()
    lines[4] = '²'
    path.write_text('\n'.join(lines))
    raises_at(lambda: load_planetoid(cora, 'Cora'), path, 5, "node index '²'")


def test_test_index_longer_than_tx(cora):
    path = cora / 'Cora' / 'raw' / 'ind.cora.test.index'
    path.write_text(path.read_text() + '\n2707\n')
    raises_at(lambda: load_planetoid(cora, 'Cora'), path, None, 'lists 1001 nodes')


def test_graph_names_unknown_node(cora):
    path = cora / 'Cora' / 'raw' / 'ind.cora.graph'
    path.write_bytes(pickle.dumps({0: [1, 99999], 1: [0]}, protocol=2))
    raises_at(lambda: load_planetoid(cora, 'Cora'), path, None, r'edge \(0, 99999\)')


def test_planetoid_matches_pyg(tmp_path):
    """The own reader against torch_geometric's Planetoid on the real files."""
    from torch_geometric.datasets import Planetoid
    for name in ('Cora', 'CiteSeer'):
        shutil.copytree(DATA / 'planetoid' / name / 'raw', tmp_path / 'pyg' / name / 'raw')
        ref = Planetoid(str(tmp_path / 'pyg'), name)[0]
        got = CitationGraph.from_planetoid(DATA / 'planetoid', name)
        assert torch.equal(got.x, ref.x) and torch.equal(got.y, ref.y)
        for key in ('train_mask', 'val_mask', 'test_mask'):
            assert torch.equal(got.masks[key], ref[key])
        assert torch.equal(got.edge_index, coalesce(ref.edge_index))  # PyG sorts by column
    assert not (DATA / 'planetoid' / 'Cora' / 'processed' / 'never').exists()


def test_planetoid_splits(cora):
    full = CitationGraph.from_planetoid(cora, 'Cora', split='full')
    assert int(full.masks['train_mask'].sum()) == 2708 - 500 - 1000
    rand = CitationGraph.from_planetoid(cora, 'Cora', split='random', seed=3)
    assert torch.bincount(rand.y[rand.masks['train_mask']]).tolist() == [20] * 7
    assert int(rand.masks['val_mask'].sum()) == 500 and int(rand.masks['test_mask'].sum()) == 1000
    assert not (rand.masks['train_mask'] & rand.masks['val_mask']).any()
    raises_at(lambda: CitationGraph.from_planetoid(cora, 'Cora', split='geom-gcn'), None, None,
              "split must be 'public', 'full' or 'random'")
    raises_at(lambda: CitationGraph.from_planetoid(cora, 'Cora', seed=1), None, None,
              'unexpected arguments')


def savetxt(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, 'wt') as f:
        np.savetxt(f, array, delimiter=',', fmt='%s')


@pytest.fixture
def arxiv(tmp_path):
    root = tmp_path / 'ogbn_arxiv'
    savetxt(root / 'raw' / 'node-feat.csv.gz', np.random.default_rng(0).normal(size=(6, 3)))
    savetxt(root / 'raw' / 'edge.csv.gz', np.array([[0, 1], [1, 2], [3, 4]]))
    savetxt(root / 'raw' / 'node-label.csv.gz', np.arange(6).reshape(-1, 1) % 2)
    for part, idx in (('train', [0, 1, 2]), ('valid', [3]), ('test', [4, 5])):
        savetxt(root / 'split' / 'time' / f'{part}.csv.gz', np.array(idx).reshape(-1, 1))
    return tmp_path


def test_ogb_truncated_gz(arxiv, files):
    path = arxiv / 'ogbn_arxiv' / 'raw' / 'edge.csv.gz'
    data = gzip.compress(b'0,1\n' * 5000)
    path.write_bytes(data[:len(data) // 2])
    raises_at(lambda: CitationGraph.from_ogb(arxiv), path, None, 'truncated gzip')


def test_ogb_fake_gz(arxiv):
    path = arxiv / 'ogbn_arxiv' / 'raw' / 'node-label.csv.gz'
    path.write_text('0\n1\n0\n1\n0\n1\n')
    raises_at(lambda: CitationGraph.from_ogb(arxiv), path, None, 'not a gzip file')


def test_ogb_unicode_digit_feature(arxiv):
    path = arxiv / 'ogbn_arxiv' / 'raw' / 'node-feat.csv.gz'
    savetxt(path, np.array([['1', '2', '3']] * 3 + [['1', '²', '3']] + [['0', '0', '0']] * 2))
    raises_at(lambda: CitationGraph.from_ogb(arxiv), path, 4, "expected a number, found '²'")


def test_ogb_label_not_integer(arxiv):
    path = arxiv / 'ogbn_arxiv' / 'raw' / 'node-label.csv.gz'
    savetxt(path, np.array([['0'], ['1'], ['x'], ['0'], ['1'], ['0']]))
    raises_at(lambda: CitationGraph.from_ogb(arxiv), path, 3, "expected an integer, found 'x'")


def test_ogb_text_unicode_digit_id(arxiv, files):
    texts = files.text('titles.tsv', '0\ta\n²\tb\n')
    raises_at(lambda: TextLinkGraph.from_ogb(arxiv, 'ogbn-arxiv', texts, text_ids='node'),
              texts, 2, "paper id '²'")
