import csv
import math
from pathlib import Path

import pytest
import torch

pytest.importorskip('rdkit')

from rdkit import Chem, DataStructs  # noqa: E402
from rdkit.Chem import rdFingerprintGenerator  # noqa: E402
from rdkit.Chem.Scaffolds import MurckoScaffold  # noqa: E402
from torch_geometric.utils import from_smiles  # noqa: E402

from pyg_sip.datasets.molecules import (  # noqa: E402
    MoleculeGraph,
    morgan_fingerprints,
    scaffold_split,
    tanimoto_graph,
)
from pyg_sip.errors import PygSipError  # noqa: E402

MOLNET = Path(__file__).resolve().parents[2] / 'datasets' / 'moleculenet_chemprop'


def csv_rows(name, limit):
    with open(MOLNET / name) as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:limit + 1]


@pytest.fixture(scope='module')
def bbbp():
    return MoleculeGraph.from_csv(MOLNET / 'bbbp.csv', max_rows=300)


def test_bbbp_subset(bbbp):
    header, rows = csv_rows('bbbp.csv', 300)
    assert header == ['smiles', 'p_np'] and bbbp.label_names == ['p_np']
    assert bbbp.num_molecules == 300 and bbbp.smiles == [r[0] for r in rows]
    assert bbbp.y.shape == (300, 1)
    assert bbbp.y[:, 0].tolist() == [float(r[1]) for r in rows]
    for i in (0, 17, 299):
        ref = from_smiles(rows[i][0])
        mol = bbbp.molecules[i]
        assert mol.x.dtype == torch.long and mol.x.size(1) == 9 and mol.edge_attr.size(1) == 3
        assert torch.equal(mol.x, ref.x) and torch.equal(mol.edge_index, ref.edge_index)
        assert torch.equal(mol.edge_attr, ref.edge_attr)
    assert bbbp.report.counts['molecules'] == 300 and not bbbp.report.dropped
    sizes = [int(m.sum()) for m in bbbp.masks.values()]
    assert sizes[0] <= 240 and sum(sizes) == 300
    assert not (bbbp.masks['train_mask'] & bbbp.masks['test_mask']).any()
    assert repr(bbbp) == (f'MoleculeGraph(molecules=300, edges='
                          f'{bbbp.edge_index.size(1) // 2}, tasks=1)')


def test_sample_graph(bbbp):
    graph = bbbp.to_sample_graph()
    assert graph.payload_kind == 'molecules' and graph.num_nodes == 300
    assert torch.equal(graph.edge_index, bbbp.edge_index)
    assert torch.equal(graph.train_mask, bbbp.masks['train_mask'])
    batch = graph.gather_molecules(torch.tensor([3, 5]))
    assert batch.num_graphs == 2
    assert torch.equal(batch.x, torch.cat([bbbp.molecules[3].x, bbbp.molecules[5].x]))


def reference_tanimoto(smiles):
    """Pairwise Tanimoto similarity with RDKit's own bit-vector code."""
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    return [DataStructs.BulkTanimotoSimilarity(fp, fps) for fp in fps]


def test_tanimoto_graph_against_rdkit(bbbp):
    smiles = bbbp.smiles[:120]
    sim = reference_tanimoto(smiles)
    n = len(smiles)
    fp = morgan_fingerprints([Chem.MolFromSmiles(s) for s in smiles])
    assert fp.shape == (n, 2048) and fp.dtype == torch.bool

    edge_index, weight = tanimoto_graph(fp, threshold=0.5, chunk_size=37)
    got = {(i, j) for i, j in edge_index.t().tolist()}
    ref = {(i, j) for i in range(n) for j in range(n) if i != j and sim[i][j] >= 0.5}
    assert got == ref
    for (i, j), w in zip(edge_index.t().tolist(), weight.tolist()):
        assert w == pytest.approx(sim[i][j], abs=1e-6)

    k = 3
    edge_index, weight = tanimoto_graph(fp, k=k, chunk_size=50)
    got = {(i, j) for i, j in edge_index.t().tolist()}
    assert all((j, i) in got for i, j in got) and all(i != j for i, j in got)
    kth = [sorted((sim[i][j] for j in range(n) if j != i), reverse=True)[k - 1]
           for i in range(n)]
    for i in range(n):  # strictly closer than the k-th neighbour: linked
        assert all((i, j) in got for j in range(n) if j != i and sim[i][j] > kth[i])
    for i, j in got:  # every link is a k-NN link of one side
        assert sim[i][j] >= min(kth[i], kth[j]) - 1e-6 and sim[i][j] > 0
    assert torch.equal(edge_index, tanimoto_graph(fp, k=k, chunk_size=1000)[0])


def test_tanimoto_graph_arguments():
    fp = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=torch.bool)
    edge_index, weight = tanimoto_graph(fp, k=2)
    assert edge_index.tolist() == [[0, 1], [1, 0]] and weight.tolist() == [0.5, 0.5]
    for kwargs in [{}, {'k': 2, 'threshold': 0.5}, {'k': 0}, {'threshold': 1.5}]:
        with pytest.raises(PygSipError):
            tanimoto_graph(fp, **kwargs)


def reference_scaffold_split(smiles, frac_train=0.8, frac_valid=0.1):
    """DeepChem's / OGB's scaffold split, written out with plain Python."""
    scaffolds = {}
    for i, s in enumerate(smiles):
        scaffold = MurckoScaffold.MurckoScaffoldSmiles(smiles=s, includeChirality=True)
        scaffolds.setdefault(scaffold, []).append(i)
    sets = sorted(scaffolds.values(), key=lambda x: (len(x), x[0]), reverse=True)
    train, valid, test = [], [], []
    for group in sets:
        if len(train) + len(group) > frac_train * len(smiles):
            if len(train) + len(valid) + len(group) > (frac_train + frac_valid) * len(smiles):
                test += group
            else:
                valid += group
        else:
            train += group
    return sorted(train), sorted(valid), sorted(test)


def test_scaffold_split_matches_reference():
    _, rows = csv_rows('bace.csv', 400)
    smiles = [r[0] for r in rows]
    got = scaffold_split(smiles)
    ref = reference_scaffold_split(smiles)
    assert [g.tolist() for g in got] == [list(r) for r in ref]
    assert len(ref[0]) <= 320 and len(ref[2]) > 0
    with pytest.raises(PygSipError, match='frac'):
        scaffold_split(smiles, (0.5, 0.1, 0.1))
    with pytest.raises(PygSipError, match=r"smiles\[1\] = 'C1CC' is not a valid SMILES"):
        scaffold_split(['CCO', 'C1CC'])


def test_named_smiles_column_and_threshold():
    graph = MoleculeGraph.from_csv(MOLNET / 'bace.csv', smiles_column='mol',
                                   label_columns=['Class'], threshold=0.7, split=None,
                                   max_rows=150)
    assert graph.num_molecules == 150 and graph.label_names == ['Class']
    assert graph.masks == {} and float(graph.edge_weight.min()) >= 0.7 - 1e-6


def write(path, text):
    path.write_text(text)
    return path


def test_invalid_smiles_and_missing_labels(tmp_path):
    path = write(tmp_path / 'm.csv', 'smiles,a,b\nCCO,1,\nC1CC,0,1\n\nc1ccccc1,,0.5\n'
                 'not_a_smiles,1,1\nCCN,0,0\n')
    graph = MoleculeGraph.from_csv(path, k=1, split=None)
    assert graph.smiles == ['CCO', 'c1ccccc1', 'CCN']
    y = graph.y.tolist()
    assert y[0][0] == 1 and math.isnan(y[0][1]) and math.isnan(y[1][0]) and y[1][1] == 0.5
    assert graph.report.dropped['invalid_smiles'] == 2
    assert graph.report.examples['invalid_smiles'] == "line 3: 'C1CC'"
    assert graph.report.counts['missing_labels'] == 2


@pytest.mark.parametrize('text, kwargs, match', [
    ('smiles,a\nCCO,1\nCCN\n', {}, r'line 3: expected 2 comma-separated fields as in the h'),
    ('smiles,a\nCCO,1\nCCN,yes\n', {}, "line 3: label 'a' is 'yes', not a finite number"),
    ('smiles,a\n', {}, 'has no data rows'),
    ('', {}, 'is empty'),
    ('smiles,a\nCCO,1\n', {'smiles_column': 'mol'}, r"no column 'mol'"),
    ('smiles,a\nCCO,1\n', {'label_columns': ['b']}, r"no column 'b'"),
    ('smiles,a\nC1CC,1\nxx,0\n', {}, 'has no valid SMILES'),
])
def test_malformed_csv(tmp_path, text, kwargs, match):
    path = write(tmp_path / 'bad.csv', text)
    with pytest.raises(PygSipError, match=match):
        MoleculeGraph.from_csv(path, split=None, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize('name, rows, positives', [('bbbp.csv', 2039, 1560),
                                                   ('bace.csv', 1513, 691)])
def test_full_files_parse(name, rows, positives):
    graph = MoleculeGraph.from_csv(MOLNET / name)
    assert graph.num_molecules == rows and not graph.report.dropped
    assert int(graph.y.sum()) == positives
