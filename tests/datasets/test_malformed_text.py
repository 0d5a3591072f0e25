"""Malformed and hostile inputs of the text adapters (TSV / JSONL documents
with links, CANE): each a PygSipError naming the file and line."""
from hostile import raises_at

from pyg_sip.datasets import TextLinkGraph

LINKS = 'a b\nb c\n'


def load(docs, links):
    return lambda: TextLinkGraph.from_files(docs, links)


def test_tab_inside_a_text(files):
    docs = files.text('d.tsv', 'a\tfirst text\t1\nb\tsecond\ttext with a tab\t0\nc\tthird\t1\n')
    raises_at(load(docs, files.text('l.txt', LINKS)), docs, 2, 'found 4 .*a tab inside')


def test_row_longer_than_header(files):
    docs = files.text('d.tsv', 'id\ttext\na\tfirst\nb\tsec\tond\n')
    raises_at(load(docs, files.text('l.txt', LINKS)), docs, 3, 'expected 2 fields')


def test_first_row_without_optional_label(files):
    # the column count is never inferred from the first row: later labels count
    docs = files.text('d.tsv', 'a\tfirst\nb\tsecond\t1\nc\tthird\t0\n')
    graph = TextLinkGraph.from_files(docs, files.text('l.txt', LINKS))
    assert graph.y.tolist() == [-1, 1, 0] and graph.report.counts['unlabelled'] == 1


def test_short_row(files):
    docs = files.text('d.tsv', 'a\tfirst\nb\n')
    raises_at(load(docs, files.text('l.txt', LINKS)), docs, 2, 'expected 2 fields')


def test_header_row_short(files):
    docs = files.text('d.tsv', 'text\tid\tlabel\nhello\ta\t1\nworld\tb\n')
    raises_at(load(docs, files.text('l.txt', LINKS)), docs, 3, 'expected 3 fields')


def test_invalid_json(files):
    docs = files.text('d.jsonl', '{"id": "a", "text": "x"}\n{"id": "b", "text": \n')
    raises_at(load(docs, files.text('l.txt', LINKS)), docs, 2, 'invalid JSON')


def test_json_id_of_wrong_type(files):
    docs = files.text('d.jsonl', '{"id": "a", "text": "x"}\n{"id": ["b"], "text": "y"}\n')
    raises_at(load(docs, files.text('l.txt', LINKS)), docs, 2, "'id' must be a string")


def test_duplicate_ids(files):
    docs = files.text('d.tsv', 'a\tx\nb\ty\na\tz\n')
    raises_at(load(docs, files.text('l.txt', LINKS)), docs, None,
              "document id 'a' appears twice: .*lines 1 and 3")


def test_empty_text(files):
    docs = files.text('d.jsonl', '{"id": "a", "text": "x"}\n{"id": "b", "text": "  "}\n')
    raises_at(load(docs, files.text('l.txt', LINKS)), docs, 2, "empty text for document 'b'")


def test_documents_not_utf8(files):
    docs = files.bytes('d.tsv', b'a\tcaf\xe9\nb\tok\n')
    raises_at(load(docs, files.text('l.txt', LINKS)), docs, 1, 'not UTF-8')


def test_documents_truncated_gz(files):
    docs = files.truncated_gz('d.tsv.gz', 'a\tsome text\n')
    raises_at(load(docs, files.text('l.txt', LINKS)), docs, None, 'truncated gzip')


def test_links_with_three_fields(files):
    links = files.text('l.txt', 'a b\nb c d\n')
    raises_at(load(files.text('d.tsv', 'a\tx\nb\ty\nc\tz\n'), links), links, 2,
              'expected 2 fields')


def test_links_empty(files):
    links = files.text('l.txt', '# nothing\n\n')
    raises_at(load(files.text('d.tsv', 'a\tx\n'), links), links, None, 'has no data rows')


def test_unknown_link_ids_are_counted(files):
    links = files.text('l.txt', 'a b\nb zz\n')
    graph = TextLinkGraph.from_files(files.text('d.tsv', 'a\tx\nb\ty\n'), links)
    assert graph.report.dropped['links_unknown_id'] == 1
    assert f"'zz' at '{links}', line 2" in graph.report.examples['links_unknown_id']


def cane(files, data='one\ntwo\nthree\n', graph='0\t1\n1\t2\n', group=None):
    files.text('cane/data.txt', data)
    files.text('cane/graph.txt', graph)
    if group is not None:
        files.text('cane/group.txt', group)
    return files.root / 'cane'


def test_cane_unicode_digit_index(files):
    root = cane(files, graph='0\t1\n1\t²\n')
    raises_at(lambda: TextLinkGraph.from_cane(root), root / 'graph.txt', 2,
              "expected a node index, found '²'")


def test_cane_unicode_digit_class(files):
    root = cane(files, group='1\n²\n0\n')
    raises_at(lambda: TextLinkGraph.from_cane(root), root / 'group.txt', 2,
              "class '²' is not a non-negative integer")


def test_cane_data_not_utf8(files):
    root = cane(files)
    files.bytes('cane/data.txt', b'one\ntwo\n\xc3\x28\n')
    raises_at(lambda: TextLinkGraph.from_cane(root), root / 'data.txt', 3, 'not UTF-8')
