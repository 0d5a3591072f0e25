import json
from pathlib import Path

import pytest
import torch

from pyg_sip.data import WordTokenizer
from pyg_sip.datasets.text import TextLinkGraph, text_tokenizer
from pyg_sip.errors import PygSipError

CANE_CORA = Path(__file__).resolve().parents[2] / 'datasets' / 'cane_cora_hepth' / 'cora'


def write(path, text):
    path.write_text(text)
    return path


def test_cane_cora_as_tsv(tmp_path):
    """The shipped CANE Cora, rewritten as documents + links files."""
    docs = (CANE_CORA / 'data.txt').read_text().splitlines()
    groups = (CANE_CORA / 'group.txt').read_text().split('\n')
    lines = (CANE_CORA / 'graph.txt').read_text().splitlines()
    write(tmp_path / 'docs.tsv', 'label\tid\ttext\n' + ''.join(
        f'{g}\tp{i}\t{d}\n' for i, (d, g) in enumerate(zip(docs, groups))))
    write(tmp_path / 'links.tsv', ''.join(
        f'p{a}\tp{b}\n' for a, b in (line.split('\t') for line in lines)))
    graph = TextLinkGraph.from_files(tmp_path / 'docs.tsv', tmp_path / 'links.tsv')
    assert graph.num_documents == 2277 and graph.ids[5] == 'p5' and graph.texts[5] == docs[5]
    pairs = {frozenset(('p' + a, 'p' + b)) for a, b in (line.split('\t') for line in lines)
             if a != b}
    row, col = graph.edge_index.tolist()
    assert {frozenset((graph.ids[i], graph.ids[j])) for i, j in zip(row, col)} == pairs
    assert graph.num_links == 4771 == len(pairs)
    assert graph.label_names is None  # integer labels are kept as they are
    assert graph.y.tolist() == [int(g) if g else -1 for g in groups]
    assert graph.report.counts['unlabelled'] == 66


@pytest.fixture
def small(tmp_path):
    docs = write(tmp_path / 'docs.jsonl', '\n'.join(json.dumps(d) for d in [
        {'id': 'a', 'text': 'Graph neural networks.', 'label': 'cs'},
        {'id': 'b', 'text': 'Protein folding', 'label': 'bio'},
        {'id': 7, 'text': 'Unlabelled text'},
        {'id': 'd', 'text': 'More proteins', 'label': 'bio'},
    ]) + '\n\n')
    links = write(tmp_path / 'links.txt', '# source target\na b\nb a\na a\nb 7\nd zz\n')
    return docs, links


def test_jsonl_and_report(small):
    graph = TextLinkGraph.from_files(*small)
    assert graph.ids == ['a', 'b', '7', 'd']
    assert graph.label_names == ['bio', 'cs'] and graph.y.tolist() == [1, 0, -1, 0]
    assert graph.edge_index.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    rep = graph.report
    assert rep.counts == {'documents': 4, 'links': 2, 'unlabelled': 1}
    assert rep.dropped == {'links_unknown_id': 1, 'links_self_loop': 1, 'links_duplicate': 1}
    assert "'zz'" in rep.examples['links_unknown_id'] and 'line 6' in rep.examples[
        'links_unknown_id']
    assert repr(graph) == 'TextLinkGraph(documents=4, links=2, labelled=3)'


def test_sample_graph_word_tokenizer(small):
    graph = TextLinkGraph.from_files(*small)
    sample = graph.to_sample_graph()
    tokenizer = WordTokenizer.fit(graph.texts)
    assert sample.vocab_size == tokenizer.vocab_size and sample.y.tolist() == [1, 0, -1, 0]
    ids, mask = sample.gather(torch.arange(4))
    for row, m, text in zip(ids, mask, graph.texts):
        assert row[m].tolist() == tokenizer.encode(text)
    assert tokenizer.decode(ids[0][mask[0]]) == 'graph neural networks .'
    given = WordTokenizer(['protein', 'folding'])
    with pytest.warns(UserWarning, match='unknown symbols'):
        sample = graph.to_sample_graph(tokenizer=given)
    assert sample.vocab_size == given.vocab_size
    with pytest.raises(PygSipError, match='tokenizer must be'):
        graph.to_sample_graph(tokenizer=object())


def test_hugging_face_tokenizer(small, tmp_path):
    transformers = pytest.importorskip('transformers')
    vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'graph', 'neural', 'networks',
             'protein', 'folding', '.']
    write(tmp_path / 'vocab.txt', '\n'.join(vocab) + '\n')
    hf = transformers.BertTokenizerFast(vocab_file=str(tmp_path / 'vocab.txt'))
    assert text_tokenizer(hf, []).pad_id == 0
    sample = TextLinkGraph.from_files(*small).to_sample_graph(tokenizer=hf)
    ids, mask = sample.gather(torch.tensor([0]))
    assert ids[0][mask[0]].tolist() == hf('Graph neural networks.')['input_ids']


def test_tsv_without_header(tmp_path):
    docs = write(tmp_path / 'd.tsv', 'x\tfirst text\t2\ny\tsecond text\t\n')
    links = write(tmp_path / 'l.tsv', 'x\ty\n')
    graph = TextLinkGraph.from_files(docs, links)
    assert graph.y.tolist() == [2, -1] and graph.num_links == 1
    docs = write(tmp_path / 'd.tsv', 'x\tfirst text\ny\tsecond text\n')
    assert TextLinkGraph.from_files(docs, links).y is None


@pytest.mark.parametrize('docs, links, match', [
    ('{"id": "a", "text": "x"}\n{"id": "b", "text": \n', 'a b\n', 'line 2: invalid JSON'),
    ('{"id": "a", "text": "x"}\n{"id": "b"}\n', 'a b\n', "line 2: expected a JSON object"),
    ('{"id": "a", "text": 3}\n', 'a b\n', "line 1: 'text' must be a string"),
    ('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', 'a b\n',
     "document id 'a' appears twice: .*lines 1 and 2"),
    ('id\ttext\tlabel\na\tsome text\t1\nb\tother\n', 'a b\n', 'line 3: expected 3 fields'),
    ('id\ttext\na\t  \n', 'a b\n', 'line 2: empty text'),
    ('a\tx\t1\nb\ty\t-2\n', 'a b\n', "line 2: negative label '-2'"),
    ('a\tx\n', '', 'is empty'),
    ('a\tx\n', 'a b\nb\n', 'line 2: expected 2 fields'),
    ('', 'a b\n', 'is empty'),
])
def test_malformed(tmp_path, docs, links, match):
    suffix = 'jsonl' if docs.startswith('{') else 'tsv'
    docs = write(tmp_path / f'docs.{suffix}', docs)
    links = write(tmp_path / 'links.txt', links)
    with pytest.raises(PygSipError, match=match):
        TextLinkGraph.from_files(docs, links)
