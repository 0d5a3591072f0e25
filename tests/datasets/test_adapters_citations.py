import gzip
import pickle
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from pyg_sip.data import WordTokenizer
from pyg_sip.datasets.citations import load_cane, load_ogb_node, load_planetoid
from pyg_sip.errors import PygSipError

DATA = Path(__file__).resolve().parents[2] / 'datasets'
CANE_CORA = DATA / 'cane_cora_hepth' / 'cora'


def undirected_pairs(edge_index):
    return {frozenset(p) for p in edge_index.t().tolist()}


@pytest.fixture
def planetoid_root(tmp_path):
    """A copy of the shipped raw files, so processing writes outside the repository."""
    shutil.copytree(DATA / 'planetoid' / 'Cora' / 'raw', tmp_path / 'Cora' / 'raw')
    return tmp_path


def test_planetoid_cora(planetoid_root):
    graph = load_planetoid(planetoid_root, 'Cora')
    assert graph.num_nodes == 2708 and graph.x.shape == (2708, 1433)
    assert int(graph.y.max()) + 1 == 7
    assert [int(graph[k].sum()) for k in ('train_mask', 'val_mask', 'test_mask')] == \
        [140, 500, 1000]
    # Independent count from the pickled adjacency dict:
    with open(planetoid_root / 'Cora' / 'raw' / 'ind.cora.graph', 'rb') as f:
        adjacency = pickle.load(f, encoding='latin1')
    ref = {frozenset((u, v)) for u, nbrs in adjacency.items() for v in nbrs if u != v}
    assert len(ref) == 5278 and undirected_pairs(graph.edge_index) == ref
    assert graph.report.counts['edges'] == 5278
    assert graph.report.counts['nodes_without_features'] == 0


def test_planetoid_citeseer(tmp_path):
    shutil.copytree(DATA / 'planetoid' / 'CiteSeer' / 'raw', tmp_path / 'CiteSeer' / 'raw')
    graph = load_planetoid(tmp_path, 'CiteSeer')
    assert graph.num_nodes == 3327 and graph.x.shape == (3327, 3703)
    assert graph.report.counts['edges'] == 4552 and int(graph.y.max()) + 1 == 6
    assert graph.report.counts['nodes_without_features'] == 15


def test_planetoid_missing_file(planetoid_root):
    (planetoid_root / 'Cora' / 'raw' / 'ind.cora.tx').unlink()
    with pytest.raises(PygSipError, match=r"missing Planetoid file '.*ind\.cora\.tx'"):
        load_planetoid(planetoid_root, 'Cora')
    with pytest.raises(PygSipError, match='missing Planetoid file'):
        load_planetoid(planetoid_root, 'CiteSeer')
    with pytest.raises(PygSipError, match="unknown Planetoid dataset 'Karate'"):
        load_planetoid(planetoid_root, 'Karate')


@pytest.fixture(scope='module')
def cane():
    return load_cane(CANE_CORA)


def test_cane_cora(cane):
    lines = (CANE_CORA / 'graph.txt').read_text().splitlines()
    pairs = {frozenset(map(int, line.split('\t'))) for line in lines}
    assert len(pairs) == 5001  # SOURCE.md's count, self-citations included
    loops = {p for p in pairs if len(p) == 1}
    assert cane.num_nodes == 2277
    assert undirected_pairs(cane.edge_index) == pairs - loops
    assert cane.report.dropped['edges_self_loop'] == sum(
        len(set(line.split('\t'))) == 1 for line in lines)
    assert cane.report.counts['edges'] == 5001 - len(loops)
    assert int((cane.y >= 0).sum()) == 2211 and cane.report.counts['unlabelled'] == 66
    assert Counter(cane.y[cane.y >= 0].tolist()) == {0: 645, 1: 195, 2: 351, 3: 292, 4: 321,
                                                     5: 252, 6: 155}


def test_cane_texts(cane):
    docs = (CANE_CORA / 'data.txt').read_text().splitlines()
    tokenizer = WordTokenizer.fit(docs)
    assert cane.vocab_size == tokenizer.vocab_size
    ids, mask = cane.gather(torch.tensor([0, 2276]))
    for row, m, doc in zip(ids, mask, [docs[0], docs[-1]]):
        assert row[m].tolist() == tokenizer.encode(doc)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def cane_root(tmp_path):
    write(tmp_path / 'data.txt', 'graph neural networks\nprotein language models\n'
          'a third paper\n')
    write(tmp_path / 'graph.txt', '0\t1\n1\t0\n2\t2\n')
    write(tmp_path / 'group.txt', '1\n\n0')
    return tmp_path


def test_cane_small(cane_root):
    graph = load_cane(cane_root)
    assert graph.y.tolist() == [1, -1, 0]
    assert graph.edge_index.tolist() == [[0, 1], [1, 0]]
    assert graph.report.dropped == {'edges_self_loop': 1, 'edges_duplicate': 1}
    (cane_root / 'group.txt').unlink()
    assert 'y' not in load_cane(cane_root)


@pytest.mark.parametrize('file, text, match', [
    ('graph.txt', '0\t1\n1\t3\n', r"line 2: node index \[1, 3\] is not in \[0, 3\)"),
    ('graph.txt', '0\t1\n1\tx\n', "line 2: expected a node index, found 'x'"),
    ('graph.txt', '0\t1\n2\n', 'line 2: expected 2 fields'),
    ('graph.txt', '', 'is empty'),
    ('data.txt', 'a\n\nb\n', 'line 2: empty text'),
    ('group.txt', '1\n2\n', 'has 2 lines, but there are 3 texts'),
    ('group.txt', '1\nB\n2', "line 2: class 'B' is not a non-negative integer"),
])
def test_cane_malformed(cane_root, file, text, match):
    write(cane_root / file, text)
    with pytest.raises(PygSipError, match=match):
        load_cane(cane_root)


def savetxt(path, array, header=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, 'wt') as f:
        if header:
            f.write(header + '\n')
        np.savetxt(f, array, delimiter=',', fmt='%s')


@pytest.fixture
def arxiv_root(tmp_path):
    """A synthetic folder in ogbn-arxiv's layout: 6 papers, 7 citations."""
    folder = tmp_path / 'ogbn_arxiv'
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4)).round(3)
    savetxt(folder / 'raw' / 'node-feat.csv.gz', x)
    savetxt(folder / 'raw' / 'edge.csv.gz',
            np.array([[0, 1], [1, 2], [2, 0], [3, 4], [4, 3], [5, 0], [1, 1]]))
    savetxt(folder / 'raw' / 'node-label.csv.gz', np.array([[3], [0], [1], [1], [2], [0]]))
    for part, ids in [('train', [0, 1, 2]), ('valid', [3]), ('test', [4, 5])]:
        savetxt(folder / 'split' / 'time' / f'{part}.csv.gz', np.array([[i] for i in ids]))
    savetxt(folder / 'mapping' / 'nodeidx2paperid.csv.gz',
            np.array([[i, 1000 + 7 * i] for i in range(6)]), header='node idx,paper id')
    write(tmp_path / 'titleabs.tsv', 'paper id\ttitle\tabstract\n'
          '1000\tGraphs\tWe study graphs.\n1007\tProteins\tWe fold proteins.\n'
          '1014\tMolecules\tSmall ones.\n1021\tText\tWords.\n1035\tLast\tOne.\n'
          '9999\tUnknown\tPaper.\n')
    return tmp_path, x


def test_ogb_arxiv_features(arxiv_root):
    root, x = arxiv_root
    graph = load_ogb_node(root, 'ogbn-arxiv')
    assert graph.num_nodes == 6 and torch.allclose(graph.x, torch.tensor(x, dtype=torch.float))
    assert graph.y.tolist() == [3, 0, 1, 1, 2, 0]
    assert graph.train_mask.tolist() == [True, True, True, False, False, False]
    assert graph.val_mask.nonzero().view(-1).tolist() == [3]
    assert graph.test_mask.nonzero().view(-1).tolist() == [4, 5]
    ref = {frozenset(p) for p in [(0, 1), (1, 2), (2, 0), (3, 4), (5, 0)]}
    assert undirected_pairs(graph.edge_index) == ref
    assert graph.report.dropped == {'edges_self_loop': 1, 'edges_duplicate': 1}
    # The dataset folder itself works as root too:
    assert torch.equal(load_ogb_node(root / 'ogbn_arxiv').edge_index, graph.edge_index)


def test_ogb_arxiv_texts(arxiv_root):
    root, _ = arxiv_root
    graph = load_ogb_node(root, 'ogbn-arxiv', texts=root / 'titleabs.tsv')
    # Papers 0, 1, 2, 3, 5 have text (paper id 1000 + 7 * node); node 4 has none.
    assert graph.num_nodes == 5 and graph.payload_kind == 'tokens'
    assert graph.y.tolist() == [3, 0, 1, 1, 0]
    assert graph.test_mask.tolist() == [False, False, False, False, True]
    ref = {frozenset(p) for p in [(0, 1), (1, 2), (2, 0), (4, 0)]}
    assert undirected_pairs(graph.edge_index) == ref
    rep = graph.report
    assert rep.dropped['nodes_without_text'] == 1 and rep.dropped['edges_without_text'] == 1
    assert rep.dropped['texts_unknown_paper'] == 1
    assert "'9999'" in rep.examples['texts_unknown_paper']
    assert 'line 7' in rep.examples['texts_unknown_paper']
    tokenizer = WordTokenizer.fit(['Graphs We study graphs.', 'Proteins We fold proteins.',
                                   'Molecules Small ones.', 'Text Words.', 'Last One.'])
    ids, mask = graph.gather(torch.tensor([1]))
    assert tokenizer.decode(ids[0][mask[0]]) == 'proteins we fold proteins .'


def test_ogb_mag_layout(tmp_path):
    folder = tmp_path / 'ogbn_mag'
    savetxt(folder / 'raw' / 'node-feat' / 'paper' / 'node-feat.csv.gz', np.eye(3))
    savetxt(folder / 'raw' / 'relations' / 'paper___cites___paper' / 'edge.csv.gz',
            np.array([[0, 1], [2, 1]]))
    savetxt(folder / 'raw' / 'node-label' / 'paper' / 'node-label.csv.gz',
            np.array([[5], [7], [5]]))
    for part, ids in [('train', [0]), ('valid', [1]), ('test', [2])]:
        savetxt(folder / 'split' / 'time' / 'paper' / f'{part}.csv.gz', np.array([ids]))
    graph = load_ogb_node(tmp_path, 'ogbn-mag')
    assert graph.num_nodes == 3 and graph.y.tolist() == [5, 7, 5]
    assert undirected_pairs(graph.edge_index) == {frozenset((0, 1)), frozenset((1, 2))}
    write(tmp_path / 'abs.tsv', 'ent idx\tabstract\n0\tfirst\n2\tthird\n7\tnone\n')
    graph = load_ogb_node(tmp_path, 'ogbn-mag', texts=tmp_path / 'abs.tsv', text_ids='node')
    assert graph.num_nodes == 2 and graph.edge_index.numel() == 0
    assert graph.y.tolist() == [5, 5] and graph.report.dropped['texts_unknown_paper'] == 1
    with pytest.raises(PygSipError, match=r"file not found: '.*paper_entidx2name\.csv\.gz'"):
        load_ogb_node(tmp_path, 'ogbn-mag', texts=tmp_path / 'abs.tsv')
    with pytest.raises(PygSipError, match="text_ids must be 'paper' or 'node'"):
        load_ogb_node(tmp_path, 'ogbn-mag', texts=tmp_path / 'abs.tsv', text_ids='ent')


def test_ogb_malformed(arxiv_root):
    root, _ = arxiv_root
    raw = root / 'ogbn_arxiv' / 'raw'
    with pytest.raises(PygSipError, match="unknown OGB node dataset 'ogbn-products'"):
        load_ogb_node(root, 'ogbn-products')
    savetxt(raw / 'edge.csv.gz', np.array([[0, 1], [1, 6]]))
    with pytest.raises(PygSipError, match=r"edge.csv.gz', line 2: node index \[1, 6\]"):
        load_ogb_node(root)
    with gzip.open(raw / 'edge.csv.gz', 'wt') as f:
        f.write('0,1\n1\n')
    with pytest.raises(PygSipError, match="edge.csv.gz', line 2: expected 2 comma-separated"):
        load_ogb_node(root)
    savetxt(raw / 'edge.csv.gz', np.array([[0, 1]]))
    (root / 'ogbn_arxiv' / 'split' / 'time' / 'valid.csv.gz').unlink()
    with pytest.raises(PygSipError, match=r"file not found: '.*valid\.csv\.gz'"):
        load_ogb_node(root)
    savetxt(root / 'ogbn_arxiv' / 'split' / 'time' / 'valid.csv.gz', np.array([[3]]))
    with gzip.open(raw / 'node-label.csv.gz', 'wt') as f:
        f.write('')
    with pytest.raises(PygSipError, match="node-label.csv.gz' is empty"):
        load_ogb_node(root)
    savetxt(raw / 'node-label.csv.gz', np.arange(6).reshape(-1, 1))
    for text, match in [('1000\tA\n1000\tB\n', "paper '1000' appears twice: .*lines 1 and 2"),
                        ('1000\tA\nabc\tB\n', "line 2: paper id 'abc' is not a non-negative"),
                        ('1000\t\n', "line 1: no text for paper '1000'"),
                        ('', 'is empty')]:
        write(root / 'bad.tsv', text)
        with pytest.raises(PygSipError, match=match):
            load_ogb_node(root, texts=root / 'bad.tsv')
