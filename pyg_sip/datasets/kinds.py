"""The built-in dataset kinds of the adapter registry: one
:class:`~pyg_sip.datasets.registry.Adapter` per way of reading a
pre-training graph from disk (and the synthetic generators)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Tuple

from pyg_sip.datasets._io import LoadReport
from pyg_sip.datasets.registry import Adapter, Option, register_adapter
from pyg_sip.errors import PygSipError

_TOKENIZER = Option('tokenizer', Path, help='a local Hugging Face tokenizer folder (needs the '
                    "'text' extra); default: the adapter's own tokenizer")
_MIN_FREQ = Option('min_freq', int, 1, help='fitted word vocabulary: words seen at least this '
                   'often')
_MAX_VOCAB = Option('max_vocab', int, help='fitted word vocabulary: at most this many words')
_MAX_LENGTH = Option('max_length', int, help='longest sequence kept as is')
_LONG = Option('long_sequences', str, 'truncate', help='what to do with longer sequences',
               choices=('truncate', 'drop'))
_SEED = Option('seed', int, 0, help='random seed')


def local_tokenizer(path: Optional[Path]) -> Any:
    """The Hugging Face tokenizer saved in the folder ``path``, offline, or
    :obj:`None` when no path is given."""
    if path is None:
        return None
    if not Path(path).is_dir():
        raise PygSipError(f"tokenizer folder not found: '{path}'")
    from pyg_sip._optional import require
    auto = require('transformers').AutoTokenizer
    try:
        return auto.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as e:
        raise PygSipError(f"'{path}' holds no Hugging Face tokenizer: {e}") from None


def _result(reader: Any, **kwargs: Any) -> Tuple[Any, dict]:
    graph = reader.to_sample_graph(**kwargs)
    return graph, reader.report.to_dict()


def _proteins(sequences, interactions, min_score, modes, group, max_length, long_sequences,
              keep_isolated, tokenizer):
    from pyg_sip.datasets.proteins import ProteinInteractionGraph
    reader = ProteinInteractionGraph.from_files(
        sequences, interactions, min_score=min_score, modes=modes, group=group,
        max_length=max_length, long_sequences=long_sequences, keep_isolated=keep_isolated)
    return _result(reader, tokenizer=local_tokenizer(tokenizer))


def _shs27k(root, modes, min_score, max_length, long_sequences, tokenizer):
    from pyg_sip.datasets.proteins import ProteinInteractionGraph
    reader = ProteinInteractionGraph.from_shs27k(root, modes=modes, min_score=min_score,
                                                 max_length=max_length,
                                                 long_sequences=long_sequences)
    return _result(reader, tokenizer=local_tokenizer(tokenizer))


def _deeploc(path, max_length, long_sequences, tokenizer):
    from pyg_sip.datasets.proteins import DeepLocSet
    reader = DeepLocSet.from_fasta(path, max_length=max_length, long_sequences=long_sequences)
    return _result(reader, tokenizer=local_tokenizer(tokenizer))


def _text(documents, links, tokenizer, min_freq, max_vocab):
    from pyg_sip.datasets.text import TextLinkGraph
    return _result(TextLinkGraph.from_files(documents, links),
                   tokenizer=local_tokenizer(tokenizer), min_freq=min_freq, max_vocab=max_vocab)


def _cane(root, tokenizer, min_freq, max_vocab):
    from pyg_sip.datasets.text import TextLinkGraph
    return _result(TextLinkGraph.from_cane(root), tokenizer=local_tokenizer(tokenizer),
                   min_freq=min_freq, max_vocab=max_vocab)


def _planetoid(root, name, split):
    from pyg_sip.datasets.citations import CitationGraph
    return _result(CitationGraph.from_planetoid(root, name, split=split))


def _ogb(root, name, texts, text_ids, tokenizer, min_freq, max_vocab):
    from pyg_sip.datasets.citations import CitationGraph
    from pyg_sip.datasets.text import TextLinkGraph
    if texts is None:
        return _result(CitationGraph.from_ogb(root, name))
    return _result(TextLinkGraph.from_ogb(root, name, texts, text_ids=text_ids),
                   tokenizer=local_tokenizer(tokenizer), min_freq=min_freq, max_vocab=max_vocab)


def _molecules(path, smiles_column, label_columns, k, threshold, radius, n_bits, split,
               max_rows):
    from pyg_sip.datasets.molecules import MoleculeGraph
    if split is not None and len(split) == 1 and split[0] == 0:
        split = None
    reader = MoleculeGraph.from_csv(path, smiles_column, label_columns, k=k,
                                    threshold=threshold, radius=radius, n_bits=n_bits,
                                    split=split, max_rows=max_rows)
    return _result(reader)


def _synthetic(generator: Any, name: str) -> Tuple[Any, dict]:
    graph = generator.graph
    report = LoadReport(f'synthetic {name} ({generator!r})')
    report.count('samples', graph.num_nodes)
    report.count('edges', graph.edge_index.size(1) // 2)
    graph.report = report
    graph.tokenizer = generator.tokenizer
    return graph, report.to_dict()


def _cliques(num_cliques, clique_size, noise, signal, vocab_size, seed):
    from pyg_sip.datasets.synthetic import NoisyCliques
    return _synthetic(NoisyCliques(num_cliques, clique_size, noise, signal=signal,
                                   vocab_size=vocab_size, seed=seed), 'cliques')


def _manifold(surface, num_samples, radius, num_topics, signal, vocab_size, seed):
    from pyg_sip.datasets.synthetic import ManifoldGraph
    return _synthetic(ManifoldGraph(surface, num_samples, radius, num_topics, signal=signal,
                                    vocab_size=vocab_size, seed=seed), 'manifold')


def _graphlets(num_cycle_nodes, num_graphlets, align_to, signal, vocab_size, seed):
    from pyg_sip.datasets.synthetic import GraphletTopology
    return _synthetic(GraphletTopology(num_cycle_nodes, num_graphlets, align_to,
                                       signal=signal, vocab_size=vocab_size, seed=seed),
                      'graphlets')


def _synthetic_text_options() -> Tuple[Option, ...]:
    return (Option('signal', float, 0.13, help='probability that a token follows the '
                   "sample's topic"),
            Option('vocab_size', int, 200, help='vocabulary size (4 special tokens included)'),
            _SEED)


def _register_builtins() -> None:
    from pyg_sip.datasets.synthetic.surfaces import SURFACES
    from pyg_sip.datasets.synthetic.topology import LABEL_SETS
    register_adapter(Adapter('proteins', 'protein sequences (FASTA or id<TAB>sequence) and '
                             'interactions (STRING links/actions or edge lists)', (
        Option('sequences', Path, required=True, multiple=True,
               help='FASTA or id<TAB>sequence file(s), plain or .gz'),
        Option('interactions', Path, required=True, multiple=True,
               help="STRING protein.links / protein.actions file(s) or 'a b [score]' lists"),
        Option('min_score', float, help="keep interactions scoring at least this (STRING's "
               '0-1000 scale)'),
        Option('modes', str, multiple=True, help='keep protein.actions rows of these modes'),
        Option('group', str, help="per-protein group for same-group negatives: the STRING "
               "taxon ('string') or the interaction file ('file')", choices=('string', 'file')),
        _MAX_LENGTH, _LONG,
        Option('keep_isolated', bool, False, help='keep proteins without interactions'),
        _TOKENIZER), _proteins))
    register_adapter(Adapter('shs27k', 'the SHS27k human interactome (STRING) shipped in '
                             'datasets/ppi_shs27k', (
        Option('root', Path, required=True, help='the folder of the SHS27k files'),
        Option('modes', str, multiple=True, help='keep interactions of these modes'),
        Option('min_score', float, help='keep interactions scoring at least this (0-1000)'),
        _MAX_LENGTH, _LONG, _TOKENIZER), _shs27k))
    register_adapter(Adapter('deeploc', 'DeepLoc localisation labels of protein sequences '
                             '(FASTA), without a graph', (
        Option('path', Path, required=True, help='the DeepLoc FASTA file'),
        _MAX_LENGTH, _LONG, _TOKENIZER), _deeploc))
    register_adapter(Adapter('text', 'documents (TSV or JSONL with id, text[, label]) linked '
                             'by a file of id pairs', (
        Option('documents', Path, required=True, help='TSV or JSONL documents'),
        Option('links', Path, required=True, help='id pairs, one link per line'),
        _TOKENIZER, _MIN_FREQ, _MAX_VOCAB), _text))
    register_adapter(Adapter('cane', 'a text-attributed citation graph in the CANE format '
                             '(data.txt, graph.txt, group.txt)', (
        Option('root', Path, required=True, help='the folder of the CANE files'),
        _TOKENIZER, _MIN_FREQ, _MAX_VOCAB), _cane))
    register_adapter(Adapter('planetoid', 'a Planetoid citation graph (Cora, CiteSeer, PubMed) '
                             'from its local raw files', (
        Option('root', Path, required=True, help='the folder holding <name>/raw/'),
        Option('name', str, required=True, help='the dataset',
               choices=('Cora', 'CiteSeer', 'PubMed')),
        Option('split', str, 'public', help="Planetoid's split",
               choices=('public', 'full', 'geom-gcn', 'random'))), _planetoid))
    register_adapter(Adapter('ogb', 'an OGB node citation graph (ogbn-arxiv, ogbn-mag papers) '
                             'from its local files, optionally with titles and abstracts', (
        Option('root', Path, required=True, help='the dataset folder (or its parent)'),
        Option('name', str, 'ogbn-arxiv', help='the dataset', choices=('ogbn-arxiv', 'ogbn-mag')),
        Option('texts', Path, help='paper id<TAB>title<TAB>abstract file; the payload becomes '
               'the tokenised text'),
        Option('text_ids', str, 'paper', help='what the ids of --texts are',
               choices=('paper', 'node')),
        _TOKENIZER, _MIN_FREQ, _MAX_VOCAB), _ogb))
    register_adapter(Adapter('molecules', 'molecules of a MoleculeNet-format CSV, linked by '
                             'Tanimoto similarity of Morgan fingerprints', (
        Option('path', Path, required=True, help='the CSV file (header row, a SMILES column)'),
        Option('smiles_column', str, help="the SMILES column (default: a column named 'smiles', "
               'else the first)'),
        Option('label_columns', str, multiple=True, help='label columns (default: all others)'),
        Option('k', int, help='link each molecule to its k most similar (default 5)'),
        Option('threshold', float, help='link every pair at least this similar instead'),
        Option('radius', int, 2, help='Morgan fingerprint radius'),
        Option('n_bits', int, 2048, help='fingerprint length'),
        Option('split', float, (0.8, 0.1, 0.1), multiple=True,
               help='train, validation and test fractions of the scaffold split (0: none)'),
        Option('max_rows', int, help='read only the first rows')), _molecules))
    register_adapter(Adapter('cliques', 'synthetic noisy cliques, one topic per clique', (
        Option('num_cliques', int, 10, help='number of cliques (topics)'),
        Option('clique_size', int, 20, help='samples per clique'),
        Option('noise', float, 0.0, help='probability of each extra edge'),
        *_synthetic_text_options()), _cliques))
    register_adapter(Adapter('manifold', 'synthetic samples on a surface, linked when close', (
        Option('surface', str, 'sphere', help='the surface', choices=SURFACES),
        Option('num_samples', int, 300, help='number of samples'),
        Option('radius', float, 0.1, help='geodesic linking radius'),
        Option('num_topics', int, 6, help='number of topics'),
        *_synthetic_text_options()), _manifold))
    register_adapter(Adapter('graphlets', 'a synthetic cycle with graphlets (structural roles)', (
        Option('num_cycle_nodes', int, 36, help='nodes of the cycle'),
        Option('num_graphlets', int, 9, help='graphlets attached to the cycle'),
        Option('align_to', str, 'motif', help='the label set the texts follow',
               choices=LABEL_SETS),
        *_synthetic_text_options()), _graphlets))


_register_builtins()
