"""Malformed and hostile inputs of the protein adapters: each a PygSipError
naming the file and line (or the id / value), raised before any work."""
import pytest
from hostile import raises_at

from pyg_sip.datasets import DeepLocSet, ProteinInteractionGraph, get_adapter

pytest.importorskip('Bio')

EDGES = 'P1 P2\nP2 P3\n'
SEQS = 'P1\tMKT\nP2\tMKV\nP3\tMSD\n'


def load(seqs, edges, **kwargs):
    return lambda: ProteinInteractionGraph.from_files(seqs, edges, **kwargs)


def test_fasta_not_utf8(files):
    seqs = files.bytes('s.fa', b'>P1\nMKT\n>P2\nMK\xffV\n>P3\nMSD\n')
    raises_at(load(seqs, files.text('e.txt', EDGES)), seqs, 4, 'not UTF-8')


def test_truncated_gz(files):
    seqs = files.truncated_gz('s.tsv.gz', SEQS)
    raises_at(load(seqs, files.text('e.txt', EDGES)), seqs, None, 'corrupt or truncated gzip')


def test_fake_gz(files):
    edges = files.fake_gz('e.txt.gz', EDGES)
    raises_at(load(files.text('s.tsv', SEQS), edges), edges, None, 'not a gzip file')


def test_gzip_without_suffix_is_read(files):
    seqs = files.gz('s.tsv', SEQS)  # compressed, named as plain text
    graph = ProteinInteractionGraph.from_files(seqs, files.text('e.txt', EDGES))
    assert graph.sequences == ['MKT', 'MKV', 'MSD']


def test_empty_files(files):
    seqs = files.text('s.tsv', '\n\n')
    raises_at(load(seqs, files.text('e.txt', EDGES)), seqs, None, 'is empty')
    edges = files.text('e2.txt', '')
    raises_at(load(files.text('s2.tsv', SEQS), edges), edges, None, 'is empty')


def test_nul_bytes(files):
    seqs = files.bytes('s.tsv', b'P1\tMKT\nP2\tMK\x00V\n')
    raises_at(load(seqs, files.text('e.txt', EDGES)), seqs, 2, 'NUL byte')


def test_fasta_without_header(files):
    seqs = files.text('s.fasta', 'MKT\n>P1\nMKT\n')
    raises_at(load(seqs, files.text('e.txt', EDGES)), seqs, 1, "FASTA header starting with '>'")


def test_invalid_residue(files):
    seqs = files.text('s.tsv', 'P1\tMKT\nP2\tMK7V\nP3\tMSD\n')
    raises_at(load(seqs, files.text('e.txt', EDGES)), seqs, 2, r"invalid residue '7'.*'P2'")


def test_duplicate_id_with_other_sequence(files):
    seqs = files.text('s.tsv', 'P1\tMKT\nP2\tMKV\nP3\tMSD\nP2\tMKW\n')
    raises_at(load(seqs, files.text('e.txt', EDGES)), seqs, 4, "'P2' has two different.*line 2")


def test_tab_inside_sequence_row(files):
    seqs = files.text('s.tsv', 'P1\tMKT\nP2\tMK\tV\nP3\tMSD\n')
    raises_at(load(seqs, files.text('e.txt', EDGES)), seqs, 2, 'found 3 .*inside a field')


def test_short_sequence_row(files):
    seqs = files.text('s.tsv', 'P1\tMKT\nP2\nP3\tMSD\n')
    raises_at(load(seqs, files.text('e.txt', EDGES)), seqs, 2, 'expected 2 fields')


def test_score_on_some_rows_only(files):
    # the first row lacks the optional score: the count is not inferred from it
    edges = files.text('e.txt', 'P1 P2\nP2 P3 0.9\n')
    raises_at(load(files.text('s.tsv', SEQS), edges), edges, 1, 'no score, but line 2 has one')


def test_unicode_digit_score(files):
    edges = files.text('e.txt', 'P1 P2 0.5\nP2 P3 ²\n')
    raises_at(load(files.text('s.tsv', SEQS), edges, min_score=0.1), edges, 2,
              "expected a score, found '²'")


def test_nan_score(files):
    edges = files.text('e.txt', 'P1 P2 nan\nP2 P3 0.5\n')
    raises_at(load(files.text('s.tsv', SEQS), edges, min_score=0.1), edges, 1,
              "expected a score, found 'nan'")


def test_string_header_without_score_column(files):
    edges = files.text('links.txt', 'protein1 protein2 experiments\nP1 P2 900\n')
    raises_at(load(files.text('s.tsv', SEQS), edges), edges, 1, "no column 'combined_score'")


def test_string_row_longer_than_header(files):
    edges = files.text('links.txt', 'protein1 protein2 combined_score\nP1 P2 900\n'
                       'P2 P3 800 extra\n')
    raises_at(load(files.text('s.tsv', SEQS), edges), edges, 3, 'expected 3 fields')


def test_empty_protein_id_in_edges(files):
    edges = files.text('e.txt', 'P1\tP2\n\tP3\n')
    raises_at(load(files.text('s.tsv', SEQS), edges), edges, 2, 'empty protein id')


def test_unknown_ids_are_counted_not_silent(files):
    edges = files.text('e.txt', 'P1 P2\nP2 P9\nP3 P8\n')
    graph = ProteinInteractionGraph.from_files(files.text('s.tsv', SEQS), edges)
    assert graph.report.dropped['interaction_no_sequence'] == 2
    example = graph.report.examples['interaction_no_sequence']
    assert "'P9'" in example and f"'{edges}', line 2" in example


def test_bad_max_length_values(files):
    for value in (0, True, 2.5):
        raises_at(load(files.text('s.tsv', SEQS), files.text('e.txt', EDGES), max_length=value),
                  None, None, f'max_length must be a positive integer, got {value!r}')


def test_deeploc_bad_label(files):
    path = files.text('d.fasta', '>A1 Nucleus-S\nMKT\n>A2 Moon-S\nMKV\n')
    raises_at(lambda: DeepLocSet.from_fasta(path), path, 3, "got 'A2 Moon-S'")


def test_registry_option_errors_before_reading(files):
    adapter = get_adapter('proteins')
    raises_at(lambda: adapter.build(sequences='missing.fa'), None, None,
              "needs option --interactions")
    raises_at(lambda: adapter.build(sequences='s', interactions='e', max_length='²'), None,
              None, r"option --max-length: expected int, got '²'")
    raises_at(lambda: adapter.build(sequences='s', interactions='e', group='species'), None,
              None, r"'species' is not one of \['string', 'file'\]")
