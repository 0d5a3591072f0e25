"""Malformed and hostile inputs of the molecule adapter (MoleculeNet CSV):
each a PygSipError naming the file and line, raised before fingerprints or
graphs are computed."""
import pytest

pytest.importorskip('rdkit')

from hostile import raises_at  # noqa: E402

from pyg_sip.datasets import MoleculeGraph  # noqa: E402


def load(path, **kwargs):
    return lambda: MoleculeGraph.from_csv(path, split=None, **kwargs)


def test_unquoted_comma(files):
    path = files.text('m.csv', 'smiles,y\nCCO,1\nC(C)O,0,extra\n')
    raises_at(load(path), path, 3, 'found 3 .*unquoted comma')


def test_unicode_digit_label(files):
    path = files.text('m.csv', 'smiles,y\nCCO,1\nCCN,²\n')
    raises_at(load(path), path, 3, "label 'y' is '²', not a finite number")


def test_infinite_label(files):
    path = files.text('m.csv', 'smiles,y\nCCO,1\nCCN,inf\n')
    raises_at(load(path), path, 3, "label 'y' is 'inf'")


def test_not_utf8(files):
    path = files.bytes('m.csv', b'smiles,y\nCCO,1\nC\xffC,0\n')
    raises_at(load(path), path, 3, 'not UTF-8')


def test_truncated_gz(files):
    path = files.truncated_gz('m.csv.gz', 'smiles,y\n' + 'CCO,1\n' * 50)
    raises_at(load(path), path, None, 'truncated gzip')


def test_fake_gz(files):
    path = files.fake_gz('m.csv.gz', 'smiles,y\nCCO,1\n')
    raises_at(load(path), path, None, 'not a gzip file')


def test_empty_and_header_only(files):
    empty = files.text('e.csv', '')
    raises_at(load(empty), empty, None, 'is empty')
    header = files.text('h.csv', 'smiles,y\n')
    raises_at(load(header), header, None, 'has no data rows')


def test_missing_column(files):
    path = files.text('m.csv', 'smiles,y\nCCO,1\n')
    raises_at(load(path, smiles_column='mol'), path, 1, "no column 'mol'")
    raises_at(load(path, label_columns=['z']), path, 1, "no column 'z'")


def test_repeated_header_column(files):
    path = files.text('m.csv', 'smiles,y,y\nCCO,1,0\n')
    raises_at(load(path), path, 1, 'repeated column name')


def test_bad_graph_arguments_before_reading(files):
    path = files.text('m.csv', 'smiles,y\nCCO,1\n')
    raises_at(load(path, k=0), None, None, 'k must be a positive integer')
    raises_at(load(path, k=3, threshold=0.5), None, None, 'not both')
    raises_at(lambda: MoleculeGraph.from_csv(path, split=(0.5, 0.5)), None, None,
              'split fractions must be three')


def test_invalid_smiles_counted_with_line(files):
    path = files.text('m.csv', 'y,smiles\n1,CCO\n0,C1CC\n1,CCN\n')
    graph = MoleculeGraph.from_csv(path, split=None, k=1)
    assert graph.smiles == ['CCO', 'CCN']  # the 'smiles' column found by name
    assert graph.report.dropped['invalid_smiles'] == 1
    assert graph.report.examples['invalid_smiles'] == "line 3: 'C1CC'"
