"""Tokenizers that turn per-sample sequences (proteins, text) into token ids.

Every tokenizer shares the special tokens :obj:`PAD = 0`, :obj:`MASK = 1`,
:obj:`CLS = 2` and :obj:`UNK = 3`; regular symbols start at id :obj:`4`.
Symbols outside the vocabulary are mapped to :obj:`UNK`, never dropped, and
counted: :obj:`tokenizer.unknown_counts` accumulates over all calls and
:obj:`tokenizer.last_unknown` holds the counts of the latest call.
"""
import json
import os
import re
from collections import Counter
from itertools import chain
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from pyg_sip.errors import PygSipError
from pyg_sip.utils.io import atomic_write_text

PAD_ID, MASK_ID, CLS_ID, UNK_ID = 0, 1, 2, 3
SPECIAL_TOKENS = ('<pad>', '<mask>', '<cls>', '<unk>')

AMINO_ACIDS = 'ACDEFGHIKLMNPQRSTVWY'
AMINO_ACID_ALIASES = {'U': 'C', 'O': 'K', 'B': 'X', 'Z': 'X', 'J': 'X'}


class Tokenizer:
    r"""Base class of all tokenizers: a vocabulary of regular symbols after
    the four special tokens, optional aliases (symbols encoded as another
    symbol), and the bookkeeping of unknown and aliased symbols.

    Subclasses define how a text splits into symbols (:meth:`split`) and how
    symbols join back into text (:meth:`join`).

    Args:
        symbols (List[str]): The regular symbols, receiving ids
            :obj:`4, 5, ...` in this order.
        aliases (Dict[str, str], optional): Symbols encoded as another
            (regular) symbol; each use is counted in
            :obj:`tokenizer.alias_counts`. (default: :obj:`None`)
    """
    pad_id: int = PAD_ID
    mask_id: int = MASK_ID
    cls_id: int = CLS_ID
    unk_id: int = UNK_ID

    def __init__(self, symbols: Sequence[str],
                 aliases: Optional[Dict[str, str]] = None):
        symbols = list(symbols)
        for i, symbol in enumerate(symbols):
            if not isinstance(symbol, str) or symbol == '':
                raise PygSipError(f'symbols[{i}] = {symbol!r} is not a '
                                  f'non-empty string')
            if symbol in SPECIAL_TOKENS:
                raise PygSipError(f'symbols[{i}] = {symbol!r} is a special '
                                  f'token')
        duplicates = [s for s, n in Counter(symbols).items() if n > 1]
        if duplicates:
            raise PygSipError(f'symbol {duplicates[0]!r} appears more than '
                              f'once in the vocabulary')
        self.symbols = symbols
        offset = len(SPECIAL_TOKENS)
        self.vocab = {s: offset + i for i, s in enumerate(symbols)}
        self.aliases = dict(aliases or {})
        for source, target in self.aliases.items():
            if target not in self.vocab:
                raise PygSipError(f'alias {source!r} -> {target!r} points to '
                                  f'a symbol outside the vocabulary')
        self.unknown_counts: Counter = Counter()
        self.alias_counts: Counter = Counter()
        self.last_unknown: Counter = Counter()

    @property
    def vocab_size(self) -> int:
        r"""The number of token ids, special tokens included."""
        return len(SPECIAL_TOKENS) + len(self.symbols)

    @property
    def special_ids(self) -> List[int]:
        r"""The ids of the special tokens PAD, MASK, CLS, UNK."""
        return [PAD_ID, MASK_ID, CLS_ID, UNK_ID]

    def __len__(self) -> int:
        return self.vocab_size

    def normalize(self, text: str) -> str:
        r"""Normalises a text before it is split (e.g. its case)."""
        return text

    def split(self, text: str) -> List[str]:
        r"""Splits a normalised text into symbols."""
        raise NotImplementedError

    def join(self, symbols: List[str]) -> str:
        r"""Joins symbols into a text; inverse of :meth:`split`."""
        raise NotImplementedError

    # Encoding ################################################################

    def encode(self, text: str,
               return_unknown: bool = False) -> Union[List[int], Tuple[
                   List[int], Counter]]:
        r"""Encodes one text into token ids (without a CLS token). If
        :obj:`return_unknown=True`, also returns the counts of the symbols
        that were mapped to UNK."""
        ids = self.encode_batch([text])[0]
        return (ids, Counter(self.last_unknown)) if return_unknown else ids

    def encode_batch(self, texts: Sequence[str]) -> List[List[int]]:
        r"""Encodes a list of texts into lists of token ids."""
        tokens, ptr = self.encode_ragged(texts)
        return [t.tolist() for t in tokens.split(ptr.diff().tolist())]

    def encode_ragged(self, texts: Sequence[str]) -> Tuple[Tensor, Tensor]:
        r"""Encodes a list of texts into the concatenated token ids
        :obj:`[T]` and the CSR pointer :obj:`[N + 1]`."""
        texts = _check_texts(texts)
        symbols = [self.split(self.normalize(text)) for text in texts]
        lengths = torch.tensor([len(s) for s in symbols], dtype=torch.long)
        flat = list(chain.from_iterable(symbols))
        uniq, inverse = np.unique(np.array(flat, dtype=object),
                                  return_inverse=True) if flat else ([], [])
        return self._map(list(uniq), np.asarray(inverse), lengths)

    def _map(self, uniq: List[str], inverse: np.ndarray,
             lengths: Tensor) -> Tuple[Tensor, Tensor]:
        # Looks up each distinct symbol once, then broadcasts the ids to all
        # positions: cost O(T) array work plus O(distinct symbols) Python.
        counts = np.bincount(inverse, minlength=len(uniq)) if len(uniq) else []
        ids, self.last_unknown = [], Counter()
        for symbol, count in zip(uniq, counts):
            if symbol in self.vocab:
                ids.append(self.vocab[symbol])
            elif symbol in self.aliases:
                ids.append(self.vocab[self.aliases[symbol]])
                self.alias_counts[symbol] += int(count)
            else:
                ids.append(UNK_ID)
                self.last_unknown[symbol] += int(count)
        self.unknown_counts.update(self.last_unknown)
        table = torch.tensor(ids, dtype=torch.long)
        tokens = table[torch.from_numpy(np.asarray(inverse, dtype=np.int64))] \
            if len(uniq) else torch.empty(0, dtype=torch.long)
        ptr = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)])
        return tokens, ptr

    def reset_counts(self):
        r"""Clears :obj:`unknown_counts`, :obj:`alias_counts` and
        :obj:`last_unknown`."""
        self.unknown_counts.clear()
        self.alias_counts.clear()
        self.last_unknown.clear()

    # Decoding ################################################################

    def decode(self, ids: Union[Sequence[int], Tensor],
               skip_special_tokens: bool = False) -> str:
        r"""Decodes token ids into text. Special tokens are written as
        :obj:`<pad>`, :obj:`<mask>`, :obj:`<cls>`, :obj:`<unk>`, or dropped
        if :obj:`skip_special_tokens=True`."""
        if isinstance(ids, Tensor):
            ids = ids.view(-1).tolist()
        out = []
        for pos, i in enumerate(ids):
            if not 0 <= i < self.vocab_size:
                raise PygSipError(f'ids[{pos}] = {i} is outside the '
                                  f'vocabulary [0, {self.vocab_size})')
            if i < len(SPECIAL_TOKENS):
                if not skip_special_tokens:
                    out.append(SPECIAL_TOKENS[i])
            else:
                out.append(self.symbols[i - len(SPECIAL_TOKENS)])
        return self.join(out)

    # Serialisation ###########################################################

    def to_dict(self) -> Dict[str, Any]:
        r"""Returns a JSON-serialisable description, inverse of
        :meth:`Tokenizer.from_dict`."""
        return {
            'type': self.__class__.__name__,
            'symbols': list(self.symbols),
            'aliases': dict(self.aliases),
            **self._config(),
        }

    def _config(self) -> Dict[str, Any]:
        return {}

    @staticmethod
    def from_dict(config: Dict[str, Any]) -> 'Tokenizer':
        r"""Re-creates a tokenizer from :meth:`to_dict` output."""
        config = dict(config)
        name = config.pop('type', None)
        classes = {c.__name__: c for c in _subclasses(Tokenizer)}
        if name not in classes:
            raise PygSipError(f'unknown tokenizer type {name!r} (known: '
                              f'{sorted(classes)})')
        return classes[name](**config)

    def save(self, path: Union[str, os.PathLike]) -> Path:
        r"""Writes the tokenizer as JSON to :obj:`path` (see
        :func:`save_tokenizer`)."""
        return save_tokenizer(self, path)

    @staticmethod
    def load(path: Union[str, os.PathLike]) -> 'Tokenizer':
        r"""Reads a tokenizer written by :meth:`save` (see
        :func:`load_tokenizer`)."""
        return load_tokenizer(path)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Tokenizer) and self.to_dict() == \
            other.to_dict()

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(vocab_size={self.vocab_size})'


class CharTokenizer(Tokenizer):
    r"""A character-level tokenizer: every character is one symbol.

    Encoding is vectorised over all characters of all texts (one array pass
    plus one dictionary look-up per *distinct* character).

    Args:
        symbols (List[str]): The characters of the vocabulary.
        aliases (Dict[str, str], optional): Characters encoded as another
            character. (default: :obj:`None`)
        lowercase (bool, optional): If set to :obj:`True`, texts are
            lower-cased before encoding. (default: :obj:`False`)
    """
    def __init__(self, symbols: Sequence[str],
                 aliases: Optional[Dict[str, str]] = None,
                 lowercase: bool = False):
        for i, symbol in enumerate(symbols):
            if isinstance(symbol, str) and len(symbol) != 1:
                raise PygSipError(f'symbols[{i}] = {symbol!r} is not a '
                                  f'single character')
        super().__init__(symbols, aliases)
        self.lowercase = lowercase

    @classmethod
    def fit(cls, corpus: Iterable[str], min_freq: int = 1,
            max_vocab: Optional[int] = None,
            lowercase: bool = False) -> 'CharTokenizer':
        r"""Builds the vocabulary from the characters of :obj:`corpus`: those
        seen at least :obj:`min_freq` times, the :obj:`max_vocab` most
        frequent (ties broken by character) if given; :obj:`max_vocab`
        counts regular symbols, the special tokens come on top."""
        normalize = str.lower if lowercase else str
        counts = Counter(chain.from_iterable(normalize(t) for t in corpus))
        return cls(_select(counts, min_freq, max_vocab), lowercase=lowercase)

    def normalize(self, text: str) -> str:
        return text.lower() if self.lowercase else text

    def split(self, text: str) -> List[str]:
        return list(text)

    def join(self, symbols: List[str]) -> str:
        return ''.join(symbols)

    def encode_ragged(self, texts: Sequence[str]) -> Tuple[Tensor, Tensor]:
        texts = [self.normalize(t) for t in _check_texts(texts)]
        lengths = torch.tensor([len(t) for t in texts], dtype=torch.long)
        # UTF-32 gives one fixed-width code point per character:
        codes = np.frombuffer(''.join(texts).encode(
            'utf-32-le', 'surrogatepass'), np.uint32)
        uniq, inverse = np.unique(codes, return_inverse=True)
        return self._map([chr(c) for c in uniq.tolist()], inverse, lengths)

    def _config(self) -> Dict[str, Any]:
        return {'lowercase': self.lowercase}


class AminoAcidTokenizer(CharTokenizer):
    r"""A residue-level tokenizer for protein sequences.

    The vocabulary holds the 20 standard amino acids
    (:obj:`ACDEFGHIKLMNPQRSTVWY`, ids :obj:`4-23`) and :obj:`X`, the unknown
    residue (id :obj:`24`), so :obj:`vocab_size = 25`. The other IUPAC
    letters follow a fixed rule, each use counted in :obj:`alias_counts`:

    * :obj:`U` (selenocysteine) :math:`\to` :obj:`C`, its standard analogue;
    * :obj:`O` (pyrrolysine) :math:`\to` :obj:`K`, its standard analogue;
    * :obj:`B` (D or N), :obj:`Z` (E or Q), :obj:`J` (I or L)
      :math:`\to` :obj:`X`: an ambiguous residue is not guessed.

    Lower-case input is accepted (upper-cased first). Any other character
    (e.g. :obj:`*`, :obj:`-`, digits) becomes :obj:`UNK` and is counted in
    :obj:`unknown_counts` / :obj:`last_unknown`. :meth:`decode` writes the
    canonical upper-case residues, so :obj:`decode(encode(s)) == s.upper()`
    for sequences over the 21 vocabulary letters.

    Args:
        symbols (List[str], optional): The residues. (default: the 20
            standard amino acids and :obj:`X`)
        aliases (Dict[str, str], optional): The rule above. (default:
            :obj:`{'U': 'C', 'O': 'K', 'B': 'X', 'Z': 'X', 'J': 'X'}`)
    """
    def __init__(self, symbols: Sequence[str] = AMINO_ACIDS + 'X',
                 aliases: Optional[Dict[str, str]] = None):
        super().__init__(list(symbols), AMINO_ACID_ALIASES
                         if aliases is None else aliases)

    def normalize(self, text: str) -> str:
        return text.upper()

    def _config(self) -> Dict[str, Any]:
        return {}


class WordTokenizer(Tokenizer):
    r"""A word-level tokenizer for text: a text splits into words (runs of
    letters, digits and underscores) and single punctuation marks; white
    space only separates. :meth:`decode` joins symbols with single spaces,
    so :obj:`decode(encode(t)) == ' '.join(split(normalize(t)))`.

    Args:
        symbols (List[str]): The words of the vocabulary.
        lowercase (bool, optional): If set to :obj:`True`, texts are
            lower-cased before encoding. (default: :obj:`True`)
    """
    _pattern = re.compile(r'\w+|[^\w\s]')

    def __init__(self, symbols: Sequence[str], lowercase: bool = True,
                 aliases: Optional[Dict[str, str]] = None):
        super().__init__(symbols, aliases)
        self.lowercase = lowercase

    @classmethod
    def fit(cls, corpus: Iterable[str], min_freq: int = 1,
            max_vocab: Optional[int] = None,
            lowercase: bool = True) -> 'WordTokenizer':
        r"""Builds the vocabulary from the words of :obj:`corpus`: those
        seen at least :obj:`min_freq` times, the :obj:`max_vocab` most
        frequent (ties broken alphabetically) if given; :obj:`max_vocab`
        counts regular symbols, the special tokens come on top."""
        tokenizer = cls([], lowercase=lowercase)
        counts = Counter(
            chain.from_iterable(
                tokenizer.split(tokenizer.normalize(t)) for t in corpus))
        return cls(_select(counts, min_freq, max_vocab), lowercase=lowercase)

    def normalize(self, text: str) -> str:
        return text.lower() if self.lowercase else text

    def split(self, text: str) -> List[str]:
        return self._pattern.findall(text)

    def join(self, symbols: List[str]) -> str:
        return ' '.join(symbols)

    def _config(self) -> Dict[str, Any]:
        return {'lowercase': self.lowercase}


_TOKENIZER_FORMAT = 'pyg_sip.Tokenizer/1'


def describe_unknown(counts: Counter, unk_id: int = UNK_ID,
                     limit: int = 10) -> str:
    r"""A short report of the unknown symbols :obj:`counts` (symbol ->
    occurrences): their total and distinct counts and at most :obj:`limit`
    of the most frequent (ties broken by symbol), so that the text stays
    short for any corpus."""
    total = sum(counts.values())
    top = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:limit]
    listed = ', '.join(f'{s!r} x{n}' for s, n in top)
    rest = len(counts) - len(top)
    more = f' and {rest} more distinct symbols' if rest > 0 else ''
    return (f'{total} unknown symbols ({len(counts)} distinct) were mapped to '
            f'the UNK token (id {unk_id}); most frequent: {listed}{more}')


def save_tokenizer(tokenizer: Tokenizer, path: Union[str, os.PathLike]) -> Path:
    r"""Writes :obj:`tokenizer` as JSON (its :meth:`Tokenizer.to_dict` and a
    format tag) to :obj:`path`, atomically; :func:`load_tokenizer` reads it
    back into an equal tokenizer.

    Args:
        tokenizer (Tokenizer): A :mod:`pyg_sip` tokenizer.
        path (str or os.PathLike): The file to write.

    Returns:
        The path written.
    """
    if not isinstance(tokenizer, Tokenizer):
        raise PygSipError(f"'tokenizer' must be a pyg_sip Tokenizer, got "
                          f'{type(tokenizer).__name__}')
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({'format': _TOKENIZER_FORMAT, **tokenizer.to_dict()},
                      indent=1, ensure_ascii=False)
    atomic_write_text(path, text + '\n')
    return path


def load_tokenizer(path: Union[str, os.PathLike]) -> Tokenizer:
    r"""Reads a tokenizer written by :func:`save_tokenizer` (a plain
    :meth:`Tokenizer.to_dict` JSON is accepted too). A missing, unreadable
    or malformed file raises :class:`~pyg_sip.errors.PygSipError` naming the
    file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise PygSipError(f'{path}: no such tokenizer file')
    try:
        config = json.loads(path.read_bytes().decode('utf-8'))
    except UnicodeDecodeError as e:
        raise PygSipError(f'{path}: not a tokenizer file (byte {e.start} is '
                          f'not UTF-8)') from e
    except json.JSONDecodeError as e:
        raise PygSipError(f'{path}: not a tokenizer file (invalid JSON at '
                          f'line {e.lineno}: {e.msg})') from e
    if not isinstance(config, dict):
        raise PygSipError(f'{path}: not a tokenizer file (expected a JSON '
                          f'object, got {type(config).__name__})')
    config = dict(config)
    tag = config.pop('format', _TOKENIZER_FORMAT)
    if tag != _TOKENIZER_FORMAT:
        raise PygSipError(f'{path}: unknown tokenizer format {tag!r} '
                          f'(expected {_TOKENIZER_FORMAT!r})')
    try:
        return Tokenizer.from_dict(config)
    except PygSipError as e:
        raise PygSipError(f'{path}: {e}') from e
    except (TypeError, ValueError, AttributeError) as e:
        raise PygSipError(f'{path}: not a valid tokenizer description '
                          f'({e})') from e


def encode_ragged(tokenizer: Any,
                  texts: Sequence[str]) -> Tuple[Tensor, Tensor]:
    r"""Encodes :obj:`texts` with any tokenizer into the concatenated token
    ids :obj:`[T]` and the CSR pointer :obj:`[N + 1]`, using the tokenizer's
    own :obj:`encode_ragged` if it has one, else :obj:`encode_batch`."""
    if hasattr(tokenizer, 'encode_ragged'):
        return tokenizer.encode_ragged(texts)
    seqs = tokenizer.encode_batch(list(texts))
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    tokens = torch.tensor(list(chain.from_iterable(seqs)), dtype=torch.long)
    return tokens, torch.cat([lengths.new_zeros(1), lengths.cumsum(0)])


def _check_texts(texts: Sequence[str]) -> List[str]:
    if isinstance(texts, str):
        raise PygSipError("expected a list of texts, got a single string (use "
                          "'encode' for one text)")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise PygSipError(f'texts[{i}] must be a string, got '
                              f'{type(text).__name__}')
    return texts


def _select(counts: Counter, min_freq: int,
            max_vocab: Optional[int]) -> List[str]:
    if min_freq < 1:
        raise PygSipError(f"'min_freq' must be at least 1, got {min_freq}")
    if max_vocab is not None and max_vocab < 0:
        raise PygSipError(f"'max_vocab' must be non-negative, got {max_vocab}")
    kept = sorted((s for s, n in counts.items()
                   if n >= min_freq and s not in SPECIAL_TOKENS),
                  key=lambda s: (-counts[s], s))
    return kept[:max_vocab] if max_vocab is not None else kept


def _subclasses(cls: type) -> List[type]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_subclasses(sub))
    return out
