import gzip
import logging

import numpy as np
import pytest

from pyg_sip.datasets._io import (
    LoadReport,
    first_duplicate,
    index_of,
    iter_lines,
    read_table,
    undirected_edges,
)
from pyg_sip.errors import PygSipError


def test_index_of_against_dict():
    rng = np.random.default_rng(0)
    ids = np.array([f'p{i}' for i in rng.permutation(500)])
    query = np.array([f'p{i}' for i in rng.integers(0, 700, size=2000)])
    pos, found = index_of(ids, query)
    ref = {s: i for i, s in enumerate(ids.tolist())}
    assert found.tolist() == [q in ref for q in query.tolist()]
    assert pos[found].tolist() == [ref[q] for q in query.tolist() if q in ref]
    pos, found = index_of(np.array([], dtype=str), np.array(['a']))
    assert found.tolist() == [False]


def test_first_duplicate():
    assert first_duplicate(np.array(['a', 'b', 'c'])) is None
    assert first_duplicate(np.array(['a', 'b', 'c', 'b', 'a'])) == (1, 3)


def test_iter_lines_gzip_and_encoding(tmp_path):
    path = tmp_path / 'x.txt.gz'
    with gzip.open(path, 'wt') as f:
        f.write('a b\r\n\nc\n')
    assert list(iter_lines(path)) == [(1, 'a b'), (2, ''), (3, 'c')]
    bad = tmp_path / 'bad.txt'
    bad.write_bytes(b'ok\n\xff\xfe\n')
    with pytest.raises(PygSipError, match='line 2: not UTF-8'):
        list(iter_lines(bad))
    with pytest.raises(PygSipError, match='file not found'):
        list(iter_lines(tmp_path / 'none.txt'))


def test_read_table(tmp_path):
    path = tmp_path / 't.tsv'
    path.write_text('# comment\nname\tvalue\n\nx\t1.5\ny\t2\textra\n')
    with pytest.raises(PygSipError, match=r"line 5: expected 2 fields .* found 3 \(a tab inside"):
        read_table(path, sep='\t', header=True, comment='#')
    path.write_text('# comment\nname\tvalue\n\nx\t1.5\ny\t2\n')
    table = read_table(path, sep='\t', header=True, comment='#')
    assert table.header == ['name', 'value'] and table.lineno.tolist() == [4, 5]
    assert table.column('name').tolist() == ['x', 'y']
    assert table.numbers('value').tolist() == [1.5, 2.0]
    with pytest.raises(PygSipError, match="line 1: no column 'score'"):
        table.column('score')
    path.write_text('name\tvalue\nx\t1\ny\tz\n')
    with pytest.raises(PygSipError, match="line 3: expected a number, found 'z'"):
        read_table(path, header=True).numbers('value')


def test_report_and_undirected_edges(caplog):
    report = LoadReport('f.txt')
    edge_index, weight = undirected_edges(np.array([0, 1, 2, 2]), np.array([1, 0, 2, 3]), 4,
                                          report, 'links', np.array([0.5, 0.7, 1.0, 0.2]))
    assert edge_index.tolist() == [[0, 1, 2, 3], [1, 0, 3, 2]]
    assert weight.tolist() == pytest.approx([0.7, 0.7, 0.2, 0.2])
    report.drop('unknown', 3, "'x' at f.txt, line 4")
    report.drop('nothing', 0)
    assert report.counts == {'links': 2}
    assert report.dropped == {'links_self_loop': 1, 'links_duplicate': 1, 'unknown': 3}
    assert repr(report) == 'LoadReport(links=2, dropped=5)'
    with caplog.at_level(logging.INFO, logger='pyg_sip.datasets'):
        report.log()
    assert "dropped 3 (unknown, e.g. 'x' at f.txt, line 4)" in caplog.text
    assert caplog.records[0].levelname == 'WARNING'
