"""The pre-training graph :math:`G_{PT}`: one node per sample."""
import copy
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.utils import (
    coalesce,
    remove_self_loops,
    select,
    subgraph,
    to_undirected,
)

from pyg_sip.data import molecules as mol
from pyg_sip.data.payload import PAYLOAD_KEYS, PAYLOADS, Payload, payload_from_args, payload_of
from pyg_sip.data.tokenizers import PAD_ID, AminoAcidTokenizer, describe_unknown, encode_ragged
from pyg_sip.data.validate import check_edge_weight, check_node_attr
from pyg_sip.errors import PygSipError
from pyg_sip.utils.checks import (
    as_tensor,
    check_edge_index,
    check_index,
    check_int,
    check_positive,
    first_true,
)
from pyg_sip.utils.segment import end_to_ptr, ptr_to_end

IndexLike = Union[Tensor, Sequence[int]]

# Attributes with a dedicated treatment in `subgraph` (everything else is
# handled as a generic per-sample or per-edge attribute):
_SPECIAL_KEYS = {'edge_index', 'edge_weight', 'num_nodes', *PAYLOAD_KEYS}


class SampleGraph(Data):
    r"""The pre-training graph :math:`G_{PT}` of Structure-Inducing
    Pre-Training, from the `"Structure-inducing pre-training"
    <https://arxiv.org/abs/2103.10334>`_ paper: one node per sample, edges
    between samples known to be related (interactions, citations,
    similarity), and the per-sample payload the encoder reads.

    The pre-training loss pulls linked samples together and pushes unlinked
    ones apart,

    .. math::
        \mathcal{L}_{PT} = (1 - \lambda) \, \mathcal{L}_M +
        \lambda \, \mathcal{L}_{SI}(G_{PT}),

    so :obj:`edge_index` is stored canonically: coalesced (sorted, no
    duplicates) and, unless :obj:`directed=True`, undirected without
    self-loops. Duplicate edges (including the two directions of an
    undirected edge) average their :obj:`edge_weight`.

    Each sample carries at most one payload:

    * dense features :obj:`x` :obj:`[N, F]`;
    * ragged token sequences :obj:`tokens` :obj:`[T]` with CSR pointer
      :obj:`token_ptr` :obj:`[N + 1]`: a sequence costs what it holds, never
      :obj:`N x max_len`. Internally the pointer is stored as its end
      offsets :obj:`token_end = token_ptr[1:]`, which PyG batching shifts by
      the number of tokens; :obj:`token_ptr` is derived on access;
    * one molecular graph per sample, :obj:`molecules` (a list of
      :class:`~torch_geometric.data.Data` in the format of
      :func:`~torch_geometric.utils.from_smiles`), stored packed (see
      :mod:`pyg_sip.data.molecules`) and unpacked on access.

    Each kind is one :class:`~pyg_sip.data.payload.Payload` class
    (:attr:`payload_type`) that checks, selects, gathers and batches it.

    Every input is checked before any work is done; a violation raises
    :class:`~pyg_sip.errors.PygSipError` naming the offending index and
    value (see :meth:`validate`). The graph batches and slices like any
    :class:`~torch_geometric.data.Data` (:meth:`Batch.from_data_list`,
    :meth:`Batch.get_example`, :meth:`Batch.index_select`).

    Args:
        x (torch.Tensor, optional): Dense sample features. (default:
            :obj:`None`)
        edge_index (torch.Tensor, optional): The edges of :math:`G_{PT}`.
            (default: :obj:`None`, no edges)
        edge_weight (torch.Tensor, optional): One weight per edge.
            (default: :obj:`None`)
        tokens (torch.Tensor, optional): The token ids of all samples,
            concatenated (no CLS token). (default: :obj:`None`)
        token_ptr (torch.Tensor, optional): CSR pointer into :obj:`tokens`.
            (default: :obj:`None`)
        molecules (List[Data], optional): One molecular graph per sample.
            (default: :obj:`None`)
        y (torch.Tensor, optional): Per-sample labels. (default: :obj:`None`)
        group (torch.Tensor, optional): Per-sample group id (e.g. species),
            used to draw negatives within a group. (default: :obj:`None`)
        num_nodes (int, optional): The number of samples :obj:`N`. Inferred
            from the payload, :obj:`y`, :obj:`group` or :obj:`edge_index` if
            not given. (default: :obj:`None`)
        vocab_size (int, optional): The vocabulary size of :obj:`tokens`.
            (default: :obj:`None`, largest token id + 1)
        pad_id (int, optional): The padding id used by :meth:`gather`; it may
            not occur in :obj:`tokens`. (default: :obj:`0`)
        directed (bool, optional): If set to :obj:`True`, :obj:`edge_index`
            is only coalesced: it is neither made undirected nor stripped of
            self-loops. (default: :obj:`False`)
        **kwargs (optional): Additional attributes, e.g. the split masks
            :obj:`train_mask`, :obj:`val_mask`, :obj:`test_mask` (boolean,
            one entry per sample: checked like every key ending in
            :obj:`_mask`).

    Shapes:
        - **x:** :math:`(N, F)`; **tokens:** :math:`(T)`; **token_ptr:**
          :math:`(N + 1)`
        - **edge_index:** :math:`(2, E)`; **edge_weight:** :math:`(E)`
        - **y:** :math:`(N)` or :math:`(N, C)`; **group**, **masks:**
          :math:`(N)`
    """
    def __init__(
        self,
        x: Optional[Tensor] = None,
        edge_index: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        tokens: Optional[Tensor] = None,
        token_ptr: Optional[Tensor] = None,
        molecules: Optional[List[Data]] = None,
        y: Optional[Tensor] = None,
        group: Optional[Tensor] = None,
        num_nodes: Optional[int] = None,
        vocab_size: Optional[int] = None,
        pad_id: int = PAD_ID,
        directed: bool = False,
        **kwargs: Any,
    ):
        if not kwargs and all(v is None for v in (
                x, edge_index, edge_weight, tokens, token_ptr, molecules, y,
                group, num_nodes, vocab_size)):
            # An empty object, as created by PyG's batching and slicing:
            super().__init__()
            return

        args = dict(x=x, tokens=tokens, token_ptr=token_ptr,
                    molecules=molecules, vocab_size=vocab_size, pad_id=pad_id)
        payload = payload_from_args(args)
        if not isinstance(directed, bool):
            raise PygSipError(f"'directed' must be True or False, got "
                              f'{directed!r}')
        if num_nodes is not None:
            num_nodes = check_int('num_nodes', num_nodes, low=0)
        stored = payload.pack(args) if payload is not None else {}
        # Per-sample and per-edge tensors (split masks included):
        fields = dict(edge_weight=edge_weight, y=y, group=group)
        fields.update((k, v) for k, v in kwargs.items() if k.endswith('_mask'))
        fields = {k: as_tensor(k, v) for k, v in fields.items() if v is not
                  None}
        extra = {k: v for k, v in kwargs.items() if k not in fields}
        if edge_index is None:
            edge_index = torch.empty(2, 0, dtype=torch.long)
        edge_index = check_edge_index('edge_index', edge_index, None)

        if num_nodes is None:
            num_nodes = _infer_num_nodes(payload, stored, fields, edge_index)
        if payload is not None:
            payload.check(stored, num_nodes)
        _check_fields(num_nodes, edge_index, fields)

        edge_index, edge_weight = _canonical_edges(
            edge_index, fields.pop('edge_weight', None), num_nodes, directed)
        super().__init__(edge_index=edge_index, y=fields.pop('y', None),
                         **extra)
        self.num_nodes = num_nodes
        if edge_weight is not None:
            self.edge_weight = edge_weight
        if 'group' in fields:
            self.group = fields.pop('group').long()
        for key, value in fields.items():  # The split masks.
            self[key] = value
        if 'tokens' in stored:
            stored['tokens'] = stored['tokens'].long()
            stored['token_end'] = stored['token_end'].long()
        for key, value in stored.items():
            self._store[key] = value

    # Construction ############################################################

    @classmethod
    def from_sequences(
        cls,
        seqs: Sequence[str],
        edge_index: Optional[Tensor] = None,
        tokenizer: Optional[Any] = None,
        **kwargs: Any,
    ) -> 'SampleGraph':
        r"""Tokenises one sequence per sample (protein, text) and stores the
        result as ragged :obj:`tokens` / :obj:`token_ptr` together with the
        tokenizer's :obj:`vocab_size` and :obj:`pad_id`. Symbols unknown to
        the tokenizer are mapped to its UNK token and reported in a
        :class:`UserWarning` (and in :obj:`tokenizer.unknown_counts`).

        Args:
            seqs (List[str]): One sequence per sample.
            edge_index (torch.Tensor, optional): The edges of :math:`G_{PT}`.
                (default: :obj:`None`)
            tokenizer (Tokenizer, optional): Any object with
                :obj:`encode_batch`, :obj:`vocab_size` and :obj:`pad_id`.
                (default: :class:`~pyg_sip.data.AminoAcidTokenizer`)
            **kwargs (optional): Further :class:`SampleGraph` arguments.
        """
        if isinstance(seqs, str) or not isinstance(seqs, Sequence):
            raise PygSipError(f"'seqs' must be a list of strings, got "
                              f'{type(seqs).__name__}')
        for i, seq in enumerate(seqs):
            if not isinstance(seq, str):
                raise PygSipError(f'seqs[{i}] must be a string, got '
                                  f'{type(seq).__name__}')
            if len(seq) == 0:
                raise PygSipError(f'sample {i} has an empty sequence')
        tokenizer = AminoAcidTokenizer() if tokenizer is None else tokenizer
        tokens, token_ptr = encode_ragged(tokenizer, seqs)
        unknown = getattr(tokenizer, 'last_unknown', None)
        if unknown:
            warnings.warn(describe_unknown(unknown, tokenizer.unk_id),
                          stacklevel=2)
        return cls(tokens=tokens, token_ptr=token_ptr, edge_index=edge_index,
                   vocab_size=tokenizer.vocab_size, pad_id=tokenizer.pad_id,
                   **kwargs)

    @classmethod
    def from_molecules(
        cls,
        mols: Sequence[Data],
        edge_index: Optional[Tensor] = None,
        **kwargs: Any,
    ) -> 'SampleGraph':
        r"""Creates a graph whose samples are molecular graphs, one
        :class:`~torch_geometric.data.Data` per sample in the format of
        :func:`~torch_geometric.utils.from_smiles` (:obj:`x`,
        :obj:`edge_index`, :obj:`edge_attr`)."""
        return cls(molecules=mols, edge_index=edge_index, **kwargs)

    # Payload #################################################################

    @property
    def payload_type(self) -> Optional[Payload]:
        r"""The :class:`~pyg_sip.data.payload.Payload` kind that the samples
        carry (:obj:`None` without payload)."""
        return payload_of(self._store)

    @property
    def payload_kind(self) -> Optional[str]:
        r"""The kind of per-sample payload: :obj:`'x'`, :obj:`'tokens'`,
        :obj:`'molecules'` or :obj:`None`."""
        payload = self.payload_type
        return None if payload is None else payload.kind

    @property
    def token_ptr(self) -> Tensor:
        r"""The CSR pointer :obj:`[N + 1]` into :obj:`tokens`."""
        if 'token_end' not in self._store:
            raise AttributeError(f"'{self.__class__.__name__}' holds no "
                                 f'token sequences')
        return end_to_ptr(self._store['token_end'])

    @token_ptr.setter
    def token_ptr(self, ptr: Tensor):
        self._store['token_end'] = ptr_to_end(as_tensor('token_ptr', ptr))

    @property
    def molecules(self) -> List[Data]:
        r"""The molecular graph of every sample, as a list of
        :class:`~torch_geometric.data.Data`."""
        if 'atom_x' not in self._store:
            raise AttributeError(f"'{self.__class__.__name__}' holds no "
                                 f'molecules')
        return PAYLOADS['molecules'].unpack(self._store)

    @molecules.setter
    def molecules(self, molecules: Sequence[Data]):
        for key, value in mol.pack_molecules(molecules).items():
            self._store[key] = value

    @property
    def vocab_size(self) -> int:
        r"""The vocabulary size of :obj:`tokens`."""
        return self._int_attr('vocab_size')

    @vocab_size.setter
    def vocab_size(self, value: int):
        self._store['vocab_size'] = int(value)

    @property
    def pad_id(self) -> int:
        r"""The padding id used by :meth:`gather`."""
        return self._int_attr('pad_id')

    @pad_id.setter
    def pad_id(self, value: int):
        self._store['pad_id'] = int(value)

    def seq_lengths(self) -> Tensor:
        r"""Returns the number of tokens of every sample, shape :obj:`[N]`."""
        self._require('tokens')
        return self.token_ptr.diff()

    def gather(
        self,
        node_ids: IndexLike,
        max_length: Optional[int] = None,
    ) -> Tuple[Tensor, Tensor]:
        r"""Returns the token sequences of the samples :obj:`node_ids`,
        padded with :obj:`pad_id` to the longest sequence of this call.
        A sequence longer than :obj:`max_length` keeps its first
        :obj:`max_length` tokens. Built with tensor operations only.

        Args:
            node_ids (torch.Tensor): Sample ids (or a boolean mask over
                samples).
            max_length (int, optional): Truncation length. (default:
                :obj:`None`)

        :rtype: (:class:`torch.Tensor`, :class:`torch.Tensor`): the
            :obj:`input_ids` :obj:`[B, L]` and the boolean
            :obj:`attention_mask` :obj:`[B, L]`.
        """
        self._require('tokens')
        check_positive('max_length', max_length, integer=True, optional=True)
        index = check_index('node_ids', node_ids, self.num_nodes)
        out = PAYLOADS['tokens'].gather(self._store, index, max_length)
        return out['input_ids'], out['attention_mask']

    def gather_molecules(self, node_ids: IndexLike) -> Batch:
        r"""Returns the molecules of the samples :obj:`node_ids` as one
        :class:`~torch_geometric.data.Batch`, built with tensor operations
        only."""
        self._require('molecules')
        index = check_index('node_ids', node_ids, self.num_nodes)
        return PAYLOADS['molecules'].gather(self._store, index)['mol_batch']

    def payload(
        self,
        node_ids: IndexLike,
        max_length: Optional[int] = None,
    ) -> Dict[str, Any]:
        r"""Returns what a mini-batch of the samples :obj:`node_ids` carries:
        :obj:`{'x'}`, :obj:`{'input_ids', 'attention_mask'}` or
        :obj:`{'mol_batch'}` (empty without payload). :obj:`max_length`
        applies to token sequences only."""
        payload = self.payload_type
        if payload is None:
            return {}
        check_positive('max_length', max_length, integer=True, optional=True)
        index = check_index('node_ids', node_ids, self.num_nodes)
        return payload.gather(self._store, index, max_length)

    # Slicing #################################################################

    def subgraph(self, subset: IndexLike) -> 'SampleGraph':
        r"""Returns the sub-graph induced by the samples :obj:`subset` (a
        boolean mask or an index tensor without duplicates), relabelled to
        :obj:`0, ..., len(subset) - 1` in the order of :obj:`subset`.
        Payload, per-sample and per-edge attributes stay aligned; the edges
        stay coalesced."""
        n = self.num_nodes
        index = check_index('subset', subset, n).to(self.edge_index.device)
        ordered = index.sort().values
        pos = first_true(ordered[1:] == ordered[:-1])
        if pos >= 0:
            raise PygSipError(f"'subset' contains sample {int(ordered[pos])} "
                              f'more than once')
        edge_index, _, edge_mask = subgraph(index, self.edge_index,
                                            relabel_nodes=True, num_nodes=n,
                                            return_edge_mask=True)
        # Relabelling by an unsorted subset breaks the sorted edge order:
        perm = (edge_index[0] * index.numel() + edge_index[1]).argsort()
        edge_id = edge_mask.nonzero().view(-1)[perm]

        out = copy.copy(self)
        out.edge_index = edge_index[:, perm]
        out.num_nodes = index.numel()
        if 'edge_weight' in self._store:
            out.edge_weight = self.edge_weight[edge_id]
        payload = self.payload_type
        if payload is not None:
            for key, value in payload.select(self._store, index).items():
                out._store[key] = value
        for key, value in self._store.items():
            if key in _SPECIAL_KEYS:
                continue
            if key in ('x', 'y', 'group') or key.endswith('_mask') or \
                    self.is_node_attr(key):
                out[key] = select(value, index, self.__cat_dim__(key, value))
            elif self.is_edge_attr(key):
                out[key] = select(value, edge_id, self.__cat_dim__(key, value))
        return out

    # Batching ################################################################

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        payload = self.payload_type
        inc = None if payload is None else payload.increment(key, self._store)
        if inc is not None:
            return inc
        return super().__inc__(key, value, *args, **kwargs)

    # Validation ##############################################################

    def validate(self, raise_on_error: bool = True) -> bool:
        r"""Checks the graph and its payload. Raises
        :class:`~pyg_sip.errors.PygSipError` naming the first offending
        index and value, or, if :obj:`raise_on_error=False`, warns and
        returns :obj:`False`."""
        try:
            self._validate()
        except PygSipError as e:
            if raise_on_error:
                raise
            warnings.warn(str(e), stacklevel=2)
            return False
        return True

    def _validate(self):
        store = self._store
        if 'num_nodes' not in store:
            raise PygSipError("a SampleGraph needs an explicit 'num_nodes'")
        n = check_int('num_nodes', self.num_nodes, low=0)
        payload = self.payload_type
        edge_index = store.get('edge_index', torch.empty(2, 0).long())
        check_edge_index('edge_index', edge_index, n)
        if payload is not None:
            payload.check(store, n)
        tensors = {
            k: v
            for k, v in store.items()
            if k in ('y', 'group', 'edge_weight') or k.endswith('_mask')
        }
        _check_fields(n, edge_index, tensors)

    # Internals ###############################################################

    def _require(self, kind: str):
        if self.payload_kind != kind:
            raise PygSipError(f"this operation needs the '{kind}' payload, "
                              f'but the graph holds {self.payload_kind!r}')

    def _int_attr(self, key: str) -> int:
        if key not in self._store:
            raise AttributeError(f"'{self.__class__.__name__}' has no "
                                 f"attribute '{key}'")
        value = self._store[key]
        # PyG batching stacks integers into a tensor with one entry per graph:
        return int(value.view(-1)[0]) if isinstance(value, Tensor) else value


def _infer_num_nodes(payload: Optional[Payload], stored: Dict[str, Any],
                     fields: Dict[str, Tensor], edge_index: Tensor) -> int:
    if payload is not None:
        return payload.num_samples(stored)
    for key in ('y', 'group'):
        if key in fields and fields[key].dim() > 0:
            return fields[key].size(0)
    return int(edge_index.max()) + 1 if edge_index.numel() > 0 else 0


def _check_fields(num_nodes: int, edge_index: Tensor,
                  tensors: Dict[str, Tensor]):
    check_edge_index('edge_index', edge_index, num_nodes)
    if 'edge_weight' in tensors:
        check_edge_weight(tensors['edge_weight'], edge_index.size(1))
    for key, value in tensors.items():
        if key in ('y', 'group') or key.endswith('_mask'):
            check_node_attr(key, value, num_nodes)


def _canonical_edges(edge_index: Tensor, edge_weight: Optional[Tensor],
                     num_nodes: int,
                     directed: bool) -> Tuple[Tensor, Optional[Tensor]]:
    if directed:
        return coalesce(edge_index, edge_weight, num_nodes, reduce='mean')
    edge_index, edge_weight = remove_self_loops(edge_index, edge_weight)
    return to_undirected(edge_index, edge_weight, num_nodes, reduce='mean')
