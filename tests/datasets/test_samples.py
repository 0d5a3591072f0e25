"""read_samples: new samples for embedding, and its malformed inputs."""
import pytest
from hostile import raises_at

from pyg_sip.datasets import read_samples


def test_fasta_gz_and_tsv_sequences(files):
    pytest.importorskip('Bio')
    path = files.gz('new.faa.gz', '>P1 kinase\nMKT\nAY*\n>P2\nmkv\n')
    samples = read_samples(path)
    assert (samples.kind, samples.ids, samples.values) == ('sequences', ['P1', 'P2'],
                                                           ['MKTAY', 'MKV'])
    tsv = files.text('new.tsv', 'P1\tMKT\nP2\tMKV\n')
    assert read_samples(tsv, kind='sequences').values == ['MKT', 'MKV']


def test_texts(files):
    tsv = files.text('docs.tsv', 'id\ttext\nd1\tgraph neural networks\nd2\tproteins\n')
    samples = read_samples(tsv)
    assert (samples.kind, samples.ids, samples.values) == (
        'texts', ['d1', 'd2'], ['graph neural networks', 'proteins'])
    jsonl = files.text('docs.jsonl', '{"id": 7, "text": "a b"}\n{"id": "x", "text": "c"}\n')
    assert read_samples(jsonl).ids == ['7', 'x']


def test_smiles(files):
    pytest.importorskip('rdkit')
    csv = files.text('mols.csv', 'name,SMILES,y\naspirin,CC(=O)Oc1ccccc1C(=O)O,1\nethanol,CCO,0\n')
    samples = read_samples(csv)
    assert (samples.kind, samples.ids, samples.values) == (
        'smiles', ['aspirin', 'ethanol'], ['CC(=O)Oc1ccccc1C(=O)O', 'CCO'])
    no_id = files.text('plain.csv', 'smiles\nCCO\nCCN\n')
    assert read_samples(no_id).ids == ['0', '1']


def test_unknown_suffix_and_kind(files):
    path = files.text('samples.dat', 'x\n')
    raises_at(lambda: read_samples(path), path, 1, "suffix '.dat'")
    raises_at(lambda: read_samples(path, kind='images'), path, 1, "got 'images'")


def test_duplicate_ids(files):
    pytest.importorskip('Bio')
    fasta = files.text('new.fasta', '>P1\nMKT\n>P2\nMKV\n>P1\nMKT\n')
    raises_at(lambda: read_samples(fasta), fasta, None, "'P1' appears twice: .*lines 1 and 5")
    tsv = files.text('docs.tsv', 'a\tx\nb\ty\na\tz\n')
    raises_at(lambda: read_samples(tsv), tsv, None, "'a' appears twice")


def test_invalid_smiles_is_an_error(files):
    pytest.importorskip('rdkit')
    csv = files.text('mols.csv', 'smiles\nCCO\nC1CC\n')
    raises_at(lambda: read_samples(csv), csv, 3, "'C1CC' is not a valid SMILES")


def test_hostile_bytes(files):
    pytest.importorskip('Bio')
    fasta = files.bytes('new.fasta', b'>P1\nMKT\n>P2\nM\xfeV\n')
    raises_at(lambda: read_samples(fasta), fasta, 4, 'not UTF-8')
    fake = files.fake_gz('new.fasta.gz', '>P1\nMKT\n')
    raises_at(lambda: read_samples(fake), fake, None, 'not a gzip file')
