import json
import random
from collections import Counter

import pytest
import torch

from pyg_sip.data import (
    CLS_ID,
    MASK_ID,
    PAD_ID,
    UNK_ID,
    AminoAcidTokenizer,
    CharTokenizer,
    SampleGraph,
    Tokenizer,
    WordTokenizer,
)
from pyg_sip.errors import PygSipError

RESIDUES = 'ACDEFGHIKLMNPQRSTVWY'


def test_special_ids_follow_the_convention():
    assert (PAD_ID, MASK_ID, CLS_ID, UNK_ID) == (0, 1, 2, 3)
    for tok in [AminoAcidTokenizer(), CharTokenizer(['a']),
                WordTokenizer(['a'])]:
        assert (tok.pad_id, tok.mask_id, tok.cls_id, tok.unk_id) == (0, 1, 2,
                                                                    3)
        assert tok.special_ids == [0, 1, 2, 3]


def test_amino_acid_vocabulary():
    tok = AminoAcidTokenizer()
    assert tok.vocab_size == len(tok) == 25
    assert tok.encode(RESIDUES + 'X') == list(range(4, 25))
    assert repr(tok) == 'AminoAcidTokenizer(vocab_size=25)'


def test_amino_acid_round_trip_and_lower_case():
    tok = AminoAcidTokenizer()
    rng = random.Random(0)
    for _ in range(20):
        seq = ''.join(rng.choice(RESIDUES + 'X') for _ in range(rng.randint(
            1, 40)))
        assert tok.decode(tok.encode(seq)) == seq
        assert tok.encode(seq.lower()) == tok.encode(seq)
    assert tok.unknown_counts == Counter() and tok.alias_counts == Counter()


def test_amino_acid_alias_rule_is_counted():
    tok = AminoAcidTokenizer()
    ids = tok.encode('UOBZJu')
    assert tok.decode(ids) == 'CKXXXC'
    assert tok.alias_counts == {'U': 2, 'O': 1, 'B': 1, 'Z': 1, 'J': 1}
    assert tok.unknown_counts == Counter()


def test_unknown_symbols_are_mapped_counted_and_reported():
    tok = AminoAcidTokenizer()
    ids, unknown = tok.encode('MK*V-*é', return_unknown=True)
    assert ids == [tok.vocab['M'], tok.vocab['K'], UNK_ID, tok.vocab['V'],
                   UNK_ID, UNK_ID, UNK_ID]
    assert unknown == {'*': 2, '-': 1, 'É': 1}
    assert tok.last_unknown == unknown
    tok.encode_batch(['A1', '**'])
    assert tok.last_unknown == {'1': 1, '*': 2}
    assert tok.unknown_counts == {'*': 4, '-': 1, 'É': 1, '1': 1}
    assert tok.decode(tok.encode('A*')) == 'A<unk>'
    tok.reset_counts()
    assert not tok.unknown_counts and not tok.last_unknown


def test_encode_batch_and_ragged_match_a_dictionary_reference():
    rng = random.Random(1)
    alphabet = RESIDUES + 'XUB*'
    seqs = [
        ''.join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        for _ in range(50)
    ]
    vocab = {s: i + 4 for i, s in enumerate(RESIDUES + 'X')}
    vocab.update(U=vocab['C'], B=vocab['X'])
    ref = [[vocab.get(c, UNK_ID) for c in s] for s in seqs]
    tok = AminoAcidTokenizer()
    assert tok.encode_batch(seqs) == ref
    tokens, ptr = tok.encode_ragged(seqs)
    assert tokens.tolist() == [i for r in ref for i in r]
    assert ptr.diff().tolist() == [len(s) for s in seqs]
    assert tok.last_unknown == Counter(c for s in seqs for c in s if c == '*')
    assert tok.encode_batch([]) == [] and tok.encode('') == []


def test_decode_special_tokens_and_errors():
    tok = AminoAcidTokenizer()
    ids = torch.tensor([CLS_ID, 4, MASK_ID, 5, PAD_ID])
    assert tok.decode(ids) == '<cls>A<mask>C<pad>'
    assert tok.decode(ids, skip_special_tokens=True) == 'AC'
    with pytest.raises(PygSipError, match=r'ids\[1\] = 25 is outside'):
        tok.decode([4, 25])
    with pytest.raises(PygSipError, match='single string'):
        tok.encode_batch('MKV')


def test_char_tokenizer_fit():
    corpus = ['abcab', 'ba', 'xyz', 'Aa']
    tok = CharTokenizer.fit(corpus)  # a: 4, b: 3, then ties by character
    assert tok.symbols == ['a', 'b', 'A', 'c', 'x', 'y', 'z']
    assert CharTokenizer.fit(corpus, min_freq=2).symbols == ['a', 'b']
    assert CharTokenizer.fit(corpus, max_vocab=3).symbols == ['a', 'b', 'A']
    lower = CharTokenizer.fit(corpus, lowercase=True)
    assert lower.symbols[0] == 'a' and 'A' not in lower.symbols
    assert lower.encode('AB') == lower.encode('ab')
    assert tok.decode(tok.encode('cab ')) == 'cab<unk>'
    assert tok.unknown_counts == {' ': 1}


def test_word_tokenizer_fit_and_round_trip():
    corpus = ['The cat sat.', 'the dog sat', 'A cat, a dog!']
    tok = WordTokenizer.fit(corpus)
    assert tok.symbols[:4] == ['a', 'cat', 'dog', 'sat']
    assert set(tok.symbols) == {'the', 'cat', 'sat', '.', 'dog', 'a', ',',
                                '!'}
    text = 'the cat sat . a dog !'
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode(tok.encode('The  CAT, sat')) == 'the cat , sat'
    ids, unknown = tok.encode('the bird sat on the bird',
                              return_unknown=True)
    assert ids.count(UNK_ID) == 3 and unknown == {'bird': 2, 'on': 1}
    assert WordTokenizer.fit(corpus, min_freq=2).symbols == [
        'a', 'cat', 'dog', 'sat', 'the'
    ]
    assert WordTokenizer.fit(corpus, max_vocab=2).symbols == ['a', 'cat']
    cased = WordTokenizer.fit(corpus, lowercase=False)
    assert 'The' in cased.symbols and 'the' in cased.symbols


@pytest.mark.parametrize('tok', [
    AminoAcidTokenizer(),
    CharTokenizer.fit(['hello world'], lowercase=True),
    WordTokenizer.fit(['hello world', 'hello there'], lowercase=False),
])
def test_serialisation_round_trip(tok, tmp_path):
    config = json.loads(json.dumps(tok.to_dict()))
    again = Tokenizer.from_dict(config)
    assert type(again) is type(tok) and again == tok
    assert again.vocab == tok.vocab and again.vocab_size == tok.vocab_size
    text = 'hello world' if not isinstance(tok, AminoAcidTokenizer) else 'MKU'
    assert again.encode(text) == tok.encode(text)
    tok.save(tmp_path / 'tok.json')
    assert Tokenizer.load(tmp_path / 'tok.json') == tok


def test_constructor_and_fit_errors():
    with pytest.raises(PygSipError, match="symbol 'a' appears more than once"):
        CharTokenizer(['a', 'b', 'a'])
    with pytest.raises(PygSipError, match=r"symbols\[1\] = '<pad>' is a "):
        WordTokenizer(['x', '<pad>'])
    with pytest.raises(PygSipError, match=r"symbols\[0\] = 'ab' is not a "):
        CharTokenizer(['ab'])
    with pytest.raises(PygSipError, match="alias 'q' -> 'z' points"):
        CharTokenizer(['a'], aliases={'q': 'z'})
    with pytest.raises(PygSipError, match="unknown tokenizer type 'Foo'"):
        Tokenizer.from_dict({'type': 'Foo'})
    with pytest.raises(PygSipError, match="'min_freq' must be at least 1"):
        WordTokenizer.fit(['a'], min_freq=0)


def test_from_sequences_accepts_any_tokenizer_with_encode_batch():
    class Minimal:
        vocab_size, pad_id, unk_id = 10, 0, 3

        def encode_batch(self, texts):
            return [[4 + len(w) % 6 for w in t.split()] for t in texts]

    graph = SampleGraph.from_sequences(['a bb', 'ccc'], tokenizer=Minimal())
    assert graph.tokens.tolist() == [5, 6, 7]
    assert graph.token_ptr.tolist() == [0, 2, 3] and graph.vocab_size == 10
