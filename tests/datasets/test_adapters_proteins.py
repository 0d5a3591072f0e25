from pathlib import Path

import pytest
import torch

from pyg_sip.datasets.proteins import (
    DEEPLOC_LOCATIONS,
    DEEPLOC_MEMBRANE,
    ProteinInteractionGraph,
    load_deeploc,
)
from pyg_sip.errors import PygSipError

pytest.importorskip('Bio')

DATA = Path(__file__).resolve().parents[2] / 'datasets'
SHS27K = DATA / 'ppi_shs27k'
DEEPLOC = DATA / 'deeploc_subsets'


def edge_set(graph):
    """Undirected id pairs of a ProteinInteractionGraph."""
    row, col = graph.edge_index.tolist()
    return {frozenset((graph.ids[i], graph.ids[j])) for i, j in zip(row, col)}


def reference_shs27k(mode=None, min_score=0):
    """Plain-Python reading of the SHS27k files."""
    seqs = dict(line.split('\t') for line in
                (SHS27K / 'protein.SHS27k.sequences.dictionary.tsv').read_text().splitlines())
    pairs = set()
    lines = (SHS27K / 'protein.actions.SHS27k.STRING.txt').read_text().splitlines()[1:]
    for line in lines:
        a, b, m, _, _, _, score = line.split('\t')
        if (mode is None or m == mode) and int(score) >= min_score and a != b:
            pairs.add(frozenset((a, b)))
    return seqs, pairs


@pytest.fixture(scope='module')
def shs27k():
    return ProteinInteractionGraph.from_shs27k(SHS27K)


def test_shs27k_counts(shs27k):
    seqs, pairs = reference_shs27k()
    assert shs27k.num_proteins == 1690 == len(seqs)
    assert shs27k.num_interactions == 7624 == len(pairs)
    assert edge_set(shs27k) == pairs
    assert all(seqs[i] == s for i, s in zip(shs27k.ids, shs27k.sequences))
    assert shs27k.group_names == ['9606'] and shs27k.group.unique().tolist() == [0]
    assert shs27k.report.counts['proteins'] == 1690
    assert shs27k.report.dropped['interactions_duplicate'] == 63408 - 7624
    assert 0.15 <= float(shs27k.edge_weight.min()) and float(shs27k.edge_weight.max()) <= 0.982
    assert repr(shs27k) == 'ProteinInteractionGraph(proteins=1690, interactions=7624, groups=1)'


def test_shs27k_sample_graph(shs27k):
    graph = shs27k.to_sample_graph()
    assert graph.num_nodes == 1690 and graph.edge_index.size(1) == 2 * 7624
    assert graph.payload_kind == 'tokens' and graph.group.tolist() == [0] * 1690
    lengths = torch.tensor([len(s) for s in shs27k.sequences])
    assert torch.equal(graph.seq_lengths(), lengths)
    assert int(lengths.min()) == 51 and int(lengths.max()) == 5171
    assert graph.report is shs27k.report
    graph.validate()


def test_shs27k_filters():
    _, pairs = reference_shs27k(mode='binding', min_score=700)
    graph = ProteinInteractionGraph.from_shs27k(SHS27K, modes=['binding'], min_score=700)
    assert edge_set(graph) == pairs
    assert graph.num_proteins == len(set().union(*pairs))
    assert graph.report.dropped['interaction_other_mode'] > 0
    assert graph.report.dropped['sequence_without_interaction'] == 1690 - graph.num_proteins


def test_max_length_drop():
    seqs, pairs = reference_shs27k()
    n_long = sum(len(s) > 300 for s in seqs.values())
    graph = ProteinInteractionGraph.from_shs27k(SHS27K, max_length=300, long_sequences='drop')
    assert graph.report.dropped['sequence_too_long'] == n_long
    assert all(len(s) <= 300 for s in graph.sequences)
    short = {i for i, s in seqs.items() if len(s) <= 300}
    assert edge_set(graph) == {p for p in pairs if p <= short}


def test_max_length_truncate(tmp_path):
    seqs = write(tmp_path / 's.tsv', 'A\tMKTAYIAKQR\nB\tMKV\nC\tMSDQE\n')
    edges = write(tmp_path / 'e.txt', 'A B\nB C\n')
    graph = ProteinInteractionGraph.from_files(seqs, edges, max_length=4)
    assert graph.sequences == ['MKTA', 'MKV', 'MSDQ']
    assert graph.report.counts['sequences_truncated'] == 2
    with pytest.raises(PygSipError, match='long_sequences'):
        ProteinInteractionGraph.from_files(seqs, edges, max_length=4, long_sequences='cut')
    with pytest.raises(PygSipError, match='max_length must be a positive integer'):
        ProteinInteractionGraph.from_files(seqs, edges, max_length=0)


def write(path, text):
    path.write_text(text)
    return path


FASTA = """>9606.P1 first
MKTAYIAKQR
QISFVKSHFS
>9606.P2
mkvlaagu*
>9606.P3
MSTNPKPQRK
>4932.Y1
MSDQEAKPST
>4932.Y2
MAAXKRLLEV
>4932.Y3
MKKLLP
"""


def test_string_links_multi_species(tmp_path):
    seqs = write(tmp_path / 'seqs.fa', FASTA)
    links = write(tmp_path / 'links.txt', 'protein1 protein2 combined_score\n'
                  '9606.P1 9606.P2 900\n9606.P2 9606.P1 900\n9606.P1 9606.P3 300\n'
                  '4932.Y1 4932.Y2 800\n4932.Y2 4932.Y3 500\n9606.P1 9606.P9 999\n')
    graph = ProteinInteractionGraph.from_files(seqs, links, min_score=400, group='string')
    assert graph.ids == ['9606.P1', '9606.P2', '4932.Y1', '4932.Y2', '4932.Y3']
    assert graph.sequences[0] == 'MKTAYIAKQRQISFVKSHFS'
    assert graph.sequences[1] == 'MKVLAAGU'  # upper-cased, stop '*' removed
    assert edge_set(graph) == {frozenset(p) for p in [('9606.P1', '9606.P2'),
                                                      ('4932.Y1', '4932.Y2'),
                                                      ('4932.Y2', '4932.Y3')]}
    assert graph.group_names == ['4932', '9606']
    assert graph.group.tolist() == [1, 1, 0, 0, 0]
    row, col = graph.edge_index
    assert torch.equal(graph.group[row], graph.group[col])
    rep = graph.report
    assert rep.dropped['interaction_low_score'] == 1
    assert rep.dropped['interaction_no_sequence'] == 1
    assert "'9606.P9'" in rep.examples['interaction_no_sequence']
    assert 'line 7' in rep.examples['interaction_no_sequence']
    assert rep.dropped['interactions_duplicate'] == 1
    assert rep.dropped['sequence_without_interaction'] == 1  # 9606.P3 only in a low-score row
    assert rep.counts['sequences_nonstandard'] == 2  # U and X
    graph_tokens = graph.to_sample_graph()
    tok = __import__('pyg_sip.data', fromlist=['AminoAcidTokenizer']).AminoAcidTokenizer()
    assert tok.decode(graph_tokens.gather(torch.tensor([1]))[0][0]) == 'MKVLAAGC'  # U -> C


def test_tree_of_life_groups(tmp_path):
    seqs = write(tmp_path / 'seqs.tsv', '9606.P1\tMKT\n9606.P2\tMKV\n4932.Y1\tMSD\n'
                 '4932.Y2\tMAA\n9606.P1\tMKT\n')
    human = write(tmp_path / 'human.txt', '# taxon 9606\nP1 P2\nP2\tP1\n')
    yeast = write(tmp_path / 'yeast.txt', 'Y1 Y2\n4932.Y2 Y1\n')
    graph = ProteinInteractionGraph.from_files(seqs, {'9606': human, '4932': yeast},
                                               qualify_ids=True, group='file')
    assert graph.group_names == ['9606', '4932']
    assert dict(zip(graph.ids, graph.group.tolist())) == {
        '9606.P1': 0, '9606.P2': 0, '4932.Y1': 1, '4932.Y2': 1}
    assert graph.num_interactions == 2
    assert graph.report.dropped['sequence_duplicate'] == 1
    assert graph.edge_weight is None

    clash = write(tmp_path / 'clash.txt', '9606.P1 9606.P2\n')
    with pytest.raises(PygSipError, match="'9606.P1' interacts in two group files"):
        ProteinInteractionGraph.from_files(seqs, {'a': clash, 'b': clash}, group='file')
    with pytest.raises(PygSipError, match='qualify_ids'):
        ProteinInteractionGraph.from_files(seqs, [human], qualify_ids=True)


def test_isolated_and_string_group_errors(tmp_path):
    seqs = write(tmp_path / 'seqs.tsv', 'A\tMKT\nB\tMKV\nC\tMSD\n')
    edges = write(tmp_path / 'e.txt', 'A B 0.5\nA C 0.9\nB B 0.1\nB D 0.9\n')
    graph = ProteinInteractionGraph.from_files(seqs, edges, min_score=0.6, keep_isolated=True)
    assert graph.ids == ['A', 'B', 'C'] and \
        graph.edge_weight.tolist() == pytest.approx([0.9, 0.9])
    assert graph.report.dropped['interaction_low_score'] == 2
    assert graph.report.dropped['interaction_no_sequence'] == 1
    dropped = ProteinInteractionGraph.from_files(seqs, edges, min_score=0.6)
    assert dropped.ids == ['A', 'C'] and dropped.report.dropped['protein_isolated'] == 1
    with pytest.raises(PygSipError, match="'taxon.protein', got 'A'"):
        ProteinInteractionGraph.from_files(seqs, edges, group='string')
    with pytest.raises(PygSipError, match='no proteins left'):
        ProteinInteractionGraph.from_files(seqs, edges, min_score=5)


@pytest.mark.parametrize('name, text, match', [
    ('bad_char.fa', '>P1\nMKT1A\n', r"line 1: invalid residue '1'"),
    ('empty_seq.fa', '>P1\n>P2\nMK\n', "line 1: empty sequence for 'P1'"),
    ('no_header.fa', 'MKT\n>P1\nMK\n', "line 1: expected a FASTA header"),
    ('empty.fa', '\n\n', 'is empty'),
    ('truncated.tsv', 'P1\tMKT\nP2\n', r'line 2: expected 2 fields .* \(truncated line\?\)'),
    ('bad_char.tsv', 'P1\tMK-T\n', r"line 1: invalid residue '-'"),
    ('dup.tsv', 'P1\tMKT\nP2\tMK\nP1\tMKV\n',
     r"'P1' has two different sequences: .*line 1 and .*line 3"),
])
def test_malformed_sequences(tmp_path, name, text, match):
    seqs = write(tmp_path / name, text)
    edges = write(tmp_path / 'edges.txt', 'P1 P2\n')
    with pytest.raises(PygSipError, match=match):
        ProteinInteractionGraph.from_files(seqs, edges)


@pytest.mark.parametrize('text, kwargs, match', [
    ('item_id_a\titem_id_b\tmode\taction\tis_directional\ta_is_acting\tscore\n'
     'P1\tP2\tbinding\t\tf\tf\t700\nP1\tP2\tbinding\n', {}, 'line 3: expected 7 fields'),
    ('item_id_a\titem_id_b\tmode\taction\tis_directional\ta_is_acting\tscore\n'
     'P1\tP2\tbinding\t\tf\tf\thigh\n', {}, "line 2: expected a score, found 'high'"),
    ('item_id_a\titem_id_b\tmode\taction\tis_directional\ta_is_acting\tscore\n'
     'P1\tP2\tbinding\t\tf\tf\t700\n', {'modes': ['bindng']}, r"modes \['bindng'\] occur in no"),
    ('protein1 protein2 combined_score\nP1 P2 700\n', {'modes': ['binding']},
     "has no 'mode' column"),
    ('protein1 protein2 combined_score\n', {}, 'has no data rows'),
    ('P1 P2\n', {'min_score': 3}, 'min_score needs a score column'),
    ('', {}, 'is empty'),
])
def test_malformed_interactions(tmp_path, text, kwargs, match):
    seqs = write(tmp_path / 'seqs.tsv', 'P1\tMKT\nP2\tMKV\n')
    edges = write(tmp_path / 'edges.txt', text)
    with pytest.raises(PygSipError, match=match):
        ProteinInteractionGraph.from_files(seqs, edges, **kwargs)


def test_missing_file(tmp_path):
    with pytest.raises(PygSipError, match='file not found'):
        ProteinInteractionGraph.from_files(tmp_path / 'nope.fa', tmp_path / 'nope.txt')


@pytest.mark.parametrize('name, total, membrane, classes', [
    ('deeploc_test_set', 2768, [743, 1003, 1022],
     [806, 505, 393, 302, 273, 173, 152, 70, 64, 30]),
    ('deeploc_our_val_set', 1678, [426, 595, 657], None),
    ('setHARD', 490, [0, 0, 490], None),
])
def test_deeploc_counts(name, total, membrane, classes):
    data = load_deeploc(DEEPLOC / f'{name}.fasta')
    assert len(data) == total and len(data.sequences) == total
    assert torch.bincount(data.membrane, minlength=3).tolist() == membrane
    if classes is not None:
        assert torch.bincount(data.location, minlength=10).tolist() == classes
    # Independent reading of the headers: accession and first location.
    headers = [line[1:].split() for line in
               (DEEPLOC / f'{name}.fasta').read_text().splitlines() if line.startswith('>')]
    assert data.ids == [h[0] for h in headers]
    assert [DEEPLOC_LOCATIONS[i] for i in data.location.tolist()] == \
        [h[1].rsplit('-', 1)[0].split('-')[0] for h in headers]
    assert [DEEPLOC_MEMBRANE[i] for i in data.membrane.tolist()] == \
        [h[1][-1] for h in headers]


def test_deeploc_multiple_locations_and_errors(tmp_path):
    path = write(tmp_path / 'd.fa', '>Q1 Cytoplasm-Nucleus-U\nMKT\n>Q2 Lysosome/Vacuole-M x\nMK\n')
    data = load_deeploc(path)
    assert data.location.tolist() == [1, 8] and data.membrane.tolist() == [2, 0]
    assert data.report.counts['locations_multiple'] == 1
    graph = data.to_sample_graph()
    assert graph.y.tolist() == [1, 8] and graph.num_nodes == 2
    assert graph.edge_index.size(1) == 0
    for header, line in [('Q1 Nowhere-M', 1), ('Q1 Nucleus-Q', 1), ('Q1', 1)]:
        path = write(tmp_path / 'bad.fa', f'>Q0 Nucleus-S\nMK\n>{header}\nMKT\n')
        with pytest.raises(PygSipError, match=f'line {line + 2}: expected'):
            load_deeploc(path)
