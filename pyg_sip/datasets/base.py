r"""The one convention of the dataset adapters: a reader class built by
``from_*`` constructors that read files (every check done, every drop
counted in :attr:`report`), and one :meth:`to_sample_graph` with the same
keywords everywhere."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from torch import Tensor

from pyg_sip.datasets._io import LoadReport
from pyg_sip.errors import PygSipError

#: The payload kinds of the readers.
PAYLOADS = ('proteins', 'texts', 'features', 'molecules')


def text_tokenizer(tokenizer: Any, texts: Sequence[str], min_freq: int = 1,
                   max_vocab: Optional[int] = None) -> Any:
    """The tokenizer to encode ``texts`` with: a
    :class:`~pyg_sip.data.WordTokenizer` fitted on them when ``tokenizer``
    is :obj:`None`; a :mod:`pyg_sip` tokenizer (``encode_batch``,
    ``vocab_size``, ``pad_id``) as is; a Hugging Face tokenizer (callable,
    with ``pad_token_id``) wrapped in :class:`~pyg_sip.nn.hf.HFTokenizer`."""
    if tokenizer is None:
        from pyg_sip.data import WordTokenizer
        return WordTokenizer.fit(texts, min_freq=min_freq, max_vocab=max_vocab)
    if all(hasattr(tokenizer, a) for a in ('encode_batch', 'vocab_size', 'pad_id')):
        return tokenizer
    if callable(tokenizer) and hasattr(tokenizer, 'pad_token_id'):
        from pyg_sip.nn.hf import HFTokenizer
        return HFTokenizer(tokenizer)
    raise PygSipError(f'tokenizer must be a pyg_sip tokenizer or a Hugging Face tokenizer, '
                      f'got {type(tokenizer).__name__}')


class SampleReader:
    r"""Base class of the dataset adapters. A subclass reads files in its
    ``from_*`` constructors and holds the samples (:meth:`samples`), the
    pre-training graph :attr:`edge_index`, the per-sample attributes
    (:meth:`attributes`: labels, groups, split masks, edge weights) and the
    :class:`~pyg_sip.datasets.LoadReport` :attr:`report`.

    :attr:`payload` says what a sample is: :obj:`"proteins"` (amino-acid
    sequences, default tokenizer :class:`~pyg_sip.data.AminoAcidTokenizer`),
    :obj:`"texts"` (default: a :class:`~pyg_sip.data.WordTokenizer` fitted
    on the texts), :obj:`"features"` (dense ``x``) or :obj:`"molecules"`
    (molecular graphs).
    """
    payload: str = 'features'
    edge_index: Tensor
    report: LoadReport

    def samples(self) -> Any:  # pragma: no cover - every subclass overrides
        """The per-sample payload: a list of sequences, a feature matrix or
        a list of molecular graphs."""
        raise NotImplementedError

    def attributes(self) -> Dict[str, Any]:
        """Per-sample (and per-edge) attributes of the sample graph; entries
        that are :obj:`None` are left out."""
        return {}

    def to_sample_graph(self, tokenizer: Any = None, min_freq: Optional[int] = None,
                        max_vocab: Optional[int] = None):
        r"""The :class:`~pyg_sip.data.SampleGraph` of the samples, with the
        attributes, :attr:`report` as ``graph.report`` and, for sequence
        payloads, the tokenizer as ``graph.tokenizer``.

        Args:
            tokenizer (optional): For sequence payloads, a :mod:`pyg_sip`
                tokenizer or a Hugging Face tokenizer (see
                :func:`~pyg_sip.datasets.text_tokenizer`). (default: the
                payload's own, see the class docstring)
            min_freq (int, optional): Texts only: the fitted vocabulary holds
                words seen at least this often. (default: :obj:`1`)
            max_vocab (int, optional): Texts only: the fitted vocabulary
                holds at most this many words. (default: :obj:`None`)
        """
        from pyg_sip.data import AminoAcidTokenizer, SampleGraph
        name = type(self).__name__
        if self.payload != 'texts' and (min_freq is not None or max_vocab is not None):
            raise PygSipError(f'{name}: min_freq and max_vocab fit a word vocabulary, which '
                              f'{self.payload} do not use')
        if self.payload in ('features', 'molecules') and tokenizer is not None:
            raise PygSipError(f'{name}: the samples are {self.payload}, not sequences: no '
                              f'tokenizer applies')
        attrs = {k: v for k, v in self.attributes().items() if v is not None}
        attrs['report'] = self.report
        if self.payload == 'features':
            return SampleGraph(x=self.samples(), edge_index=self.edge_index, **attrs)
        if self.payload == 'molecules':
            return SampleGraph.from_molecules(self.samples(), self.edge_index, **attrs)
        seqs = self.samples()
        if self.payload == 'proteins':
            tokenizer = AminoAcidTokenizer() if tokenizer is None else \
                text_tokenizer(tokenizer, seqs)
        else:
            tokenizer = text_tokenizer(tokenizer, seqs, 1 if min_freq is None else min_freq,
                                       max_vocab)
        graph = SampleGraph.from_sequences(seqs, self.edge_index, tokenizer=tokenizer, **attrs)
        graph.tokenizer = tokenizer  # kept with the graph: run folders save it for inference
        return graph
