import json
import warnings

import pytest
import torch

from pyg_sip.data import (
    AminoAcidTokenizer,
    CharTokenizer,
    SampleGraph,
    Tokenizer,
    WordTokenizer,
    load_tokenizer,
    save_tokenizer,
)
from pyg_sip.errors import PygSipError

TEXTS = ['The cat sat.', 'A dog, a cat!', 'Ünïcode wörds ß']


@pytest.mark.parametrize('tokenizer', [
    AminoAcidTokenizer(),
    AminoAcidTokenizer(symbols='ACDE', aliases={'U': 'C'}),
    WordTokenizer.fit(TEXTS, lowercase=False),
    WordTokenizer.fit(TEXTS, lowercase=True),
    CharTokenizer.fit(TEXTS, lowercase=True),
    CharTokenizer(['a', 'é', '\t', '"'], aliases={'b': 'a'}),
])
def test_round_trip_is_exact(tmp_path, tokenizer):
    path = save_tokenizer(tokenizer, tmp_path / 'sub' / 'tokenizer.json')
    loaded = load_tokenizer(path)
    assert type(loaded) is type(tokenizer)
    assert loaded.to_dict() == tokenizer.to_dict()
    assert loaded.symbols == tokenizer.symbols
    assert loaded.aliases == tokenizer.aliases
    assert getattr(loaded, 'lowercase', None) == getattr(
        tokenizer, 'lowercase', None)
    texts = TEXTS + ['MKTUOBZ*']
    assert loaded.encode_batch(texts) == tokenizer.encode_batch(texts)
    # the methods go through the same functions
    tokenizer.save(tmp_path / 'm.json')
    assert Tokenizer.load(tmp_path / 'm.json') == tokenizer
    assert not list(tmp_path.rglob('*.tmp*'))


def write(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize('content, match', [
    (b'', 'invalid JSON at line 1'),
    (b'{"type": "WordTokenizer", ', 'invalid JSON'),
    (b'\xff\xfe\x00', 'is not UTF-8'),
    (b'[1, 2]', 'expected a JSON object, got list'),
    (b'{"type": "Foo", "symbols": []}', "unknown tokenizer type 'Foo'"),
    (b'{"format": "other/2", "type": "WordTokenizer"}',
     "unknown tokenizer format 'other/2'"),
    (b'{"type": "WordTokenizer", "symbols": ["a", "a"]}',
     "symbol 'a' appears more than once"),
    (b'{"type": "WordTokenizer", "symbols": [], "colour": 1}',
     'not a valid tokenizer description'),
    (b'{"type": "CharTokenizer", "symbols": 5}',
     'not a valid tokenizer description'),
])
def test_bad_files_name_the_file(tmp_path, content, match):
    path = write(tmp_path / 'bad_tok.json', content)
    with pytest.raises(PygSipError, match=match) as info:
        load_tokenizer(path)
    assert 'bad_tok.json' in str(info.value)


def test_missing_file_and_bad_argument(tmp_path):
    with pytest.raises(PygSipError, match='nothere.json: no such'):
        load_tokenizer(tmp_path / 'nothere.json')
    with pytest.raises(PygSipError, match="'tokenizer' must be a pyg_sip"):
        save_tokenizer(object(), tmp_path / 'x.json')


def test_saved_file_is_plain_json(tmp_path):
    path = save_tokenizer(WordTokenizer(['hi']), tmp_path / 't.json')
    data = json.loads(path.read_text(encoding='utf-8'))
    assert data['type'] == 'WordTokenizer' and data['symbols'] == ['hi']


def test_unknown_symbol_warning_stays_short():
    # 1,000 distinct unknown words; 'w0007' is the most frequent one
    words = [f'w{i:04d}' for i in range(1000)]
    corpus = [' '.join(words), 'w0007 w0007 w0042']
    tokenizer = WordTokenizer(['known'])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        SampleGraph.from_sequences(corpus, tokenizer=tokenizer)
    (warning, ) = caught
    text = str(warning.message)
    assert len(text) < 400
    assert text.startswith('1003 unknown symbols (1000 distinct)')
    assert "'w0007' x3, 'w0042' x2, 'w0000' x1" in text
    assert text.count(' x') == 10
    assert 'and 990 more distinct symbols' in text
    assert torch.equal(torch.tensor(sum(tokenizer.last_unknown.values())),
                       torch.tensor(1003))
