r"""The per-sample payload of a :class:`~pyg_sip.data.SampleGraph`, one small
class per kind:

* :class:`FeaturePayload` (:obj:`'x'`): dense features :obj:`x` [N, F];
* :class:`TokenPayload` (:obj:`'tokens'`): ragged token sequences,
  :obj:`tokens` [T] and end offsets :obj:`token_end` [N];
* :class:`MoleculePayload` (:obj:`'molecules'`): one packed molecular graph
  per sample (see :mod:`pyg_sip.data.molecules`).

Each kind implements, once, what the graph does with it: :meth:`pack` the
constructor arguments into stored attributes, :meth:`check` them,
:meth:`select` the samples of a sub-graph, :meth:`gather` the mini-batch
that an encoder reads, the batching increments (:meth:`increment`) and the
constructor arguments that rebuild it (:meth:`to_args`, for files).
"""
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor

from pyg_sip.data import molecules as mol
from pyg_sip.data.validate import as_tensor, check_features, check_integer, check_tokens
from pyg_sip.errors import PygSipError
from pyg_sip.utils.checks import check_int, check_positive
from pyg_sip.utils.segment import end_to_ptr, gather_segments, segment_bounds


class Payload:
    r"""Base class of the payload kinds. A payload is stateless: its
    tensors live in the graph's store under the names :obj:`keys`."""
    #: the name of the kind, as :attr:`SampleGraph.payload_kind` reports it
    kind: str = ''
    #: the constructor arguments that carry the payload (the first one
    #: decides whether it is given)
    args: Tuple[str, ...] = ()
    #: the stored attributes (the first one marks the kind)
    keys: Tuple[str, ...] = ()
    #: what :meth:`gather` returns
    batch_keys: Tuple[str, ...] = ()

    def pack(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        r"""Converts the constructor arguments into the stored attributes
        (checks that need no sample count run here)."""
        raise NotImplementedError

    def num_samples(self, stored: Mapping[str, Any]) -> int:
        r"""The number of samples the stored attributes describe."""
        raise NotImplementedError

    def check(self, stored: Mapping[str, Any], num_nodes: int) -> None:
        r"""Raises :class:`~pyg_sip.errors.PygSipError` naming the first
        offending sample unless the payload fits :obj:`num_nodes`
        samples."""
        raise NotImplementedError

    def select(self, stored: Mapping[str, Any],
               index: Tensor) -> Dict[str, Any]:
        r"""The stored attributes of the samples :obj:`index`, in that
        order."""
        raise NotImplementedError

    def gather(self, stored: Mapping[str, Any], index: Tensor,
               max_length: Optional[int] = None) -> Dict[str, Any]:
        r"""The payload of the samples :obj:`index` as an encoder reads it
        (:obj:`max_length` applies to token sequences only)."""
        raise NotImplementedError

    def increment(self, key: str, stored: Mapping[str, Any]) -> Optional[Any]:
        r"""The shift of :obj:`key` under PyG batching, or :obj:`None` to
        keep PyG's default."""
        return None

    def to_args(self, stored: Mapping[str, Any]) -> Dict[str, Any]:
        r"""The constructor arguments that rebuild the payload."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'


class FeaturePayload(Payload):
    r"""Dense sample features :obj:`x` [N, F] (finite floats)."""
    kind, args, keys, batch_keys = 'x', ('x', ), ('x', ), ('x', )

    def pack(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        return {'x': as_tensor('x', args['x'])}

    def num_samples(self, stored: Mapping[str, Any]) -> int:
        x = stored['x']
        return x.size(0) if x.dim() > 0 else 0

    def check(self, stored: Mapping[str, Any], num_nodes: int) -> None:
        check_features(stored['x'], num_nodes)

    def select(self, stored: Mapping[str, Any],
               index: Tensor) -> Dict[str, Any]:
        x = stored['x']
        return {'x': x[index.to(x.device)]}

    def gather(self, stored: Mapping[str, Any], index: Tensor,
               max_length: Optional[int] = None) -> Dict[str, Any]:
        return self.select(stored, index)

    def to_args(self, stored: Mapping[str, Any]) -> Dict[str, Any]:
        return {'x': stored['x']}


def _int_value(value: Any) -> int:
    # PyG batching stacks integers into a tensor with one entry per graph
    return int(value.view(-1)[0]) if isinstance(value, Tensor) else int(value)


class TokenPayload(Payload):
    r"""Ragged token sequences: :obj:`tokens` [T] (all sequences
    concatenated) and the end offsets :obj:`token_end` [N] of each sample's
    sequence, with the :obj:`vocab_size` and the :obj:`pad_id` that
    :meth:`gather` pads with."""
    kind = 'tokens'
    args = ('tokens', 'token_ptr', 'vocab_size', 'pad_id')
    keys = ('tokens', 'token_end', 'vocab_size', 'pad_id')
    batch_keys = ('input_ids', 'attention_mask')

    def pack(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        if args.get('token_ptr') is None:
            raise PygSipError("'tokens' and 'token_ptr' must be given "
                              'together')
        tokens = as_tensor('tokens', args['tokens'])
        ptr = as_tensor('token_ptr', args['token_ptr'])
        check_integer('token_ptr', ptr)
        if ptr.dim() != 1 or ptr.numel() == 0:
            raise PygSipError(f"'token_ptr' must have shape [num_samples + 1], "
                              f'got {list(ptr.shape)}')
        if int(ptr[0]) != 0:
            raise PygSipError(f'token_ptr[0] must be 0, got {int(ptr[0])}')
        pad_id = check_int('pad_id', args.get('pad_id', 0), low=0)
        vocab_size = args.get('vocab_size')
        if vocab_size is None:  # the largest id in use, at least PAD
            check_integer('tokens', tokens)
            top = int(tokens.max()) if tokens.numel() > 0 else pad_id
            vocab_size = max(top, pad_id) + 1
        elif not isinstance(vocab_size, Tensor):
            vocab_size = check_positive('vocab_size', vocab_size, integer=True)
        return {'tokens': tokens, 'token_end': ptr[1:].clone(),
                'vocab_size': vocab_size, 'pad_id': pad_id}

    def num_samples(self, stored: Mapping[str, Any]) -> int:
        return stored['token_end'].numel()

    def check(self, stored: Mapping[str, Any], num_nodes: int) -> None:
        for key in ('vocab_size', 'pad_id'):
            value = stored[key]
            if isinstance(value, Tensor) and value.unique().numel() > 1:
                raise PygSipError(f"the graphs of this batch disagree on "
                                  f"'{key}': {value.unique().tolist()}")
        check_tokens(stored['tokens'], end_to_ptr(stored['token_end']),
                     num_nodes, _int_value(stored['vocab_size']),
                     _int_value(stored['pad_id']))

    def select(self, stored: Mapping[str, Any],
               index: Tensor) -> Dict[str, Any]:
        pos, length = gather_segments(stored['token_end'], index)
        return {'tokens': stored['tokens'][pos], 'token_end': length.cumsum(0)}

    def gather(self, stored: Mapping[str, Any], index: Tensor,
               max_length: Optional[int] = None) -> Dict[str, Any]:
        r"""The sequences of the samples :obj:`index`, padded with
        :obj:`pad_id` to the longest one of this call (after truncation to
        :obj:`max_length`): :obj:`input_ids` and the boolean
        :obj:`attention_mask`, both [B, L], built without a Python loop."""
        tokens = stored['tokens']
        start, length = segment_bounds(stored['token_end'],
                                       index.to(tokens.device))
        if max_length is not None:
            length = length.clamp(max=max_length)
        width = int(length.max()) if length.numel() > 0 else 0
        offset = torch.arange(width, device=tokens.device)
        attention_mask = offset < length.unsqueeze(-1)
        input_ids = tokens.new_full(attention_mask.shape,
                                    _int_value(stored['pad_id']))
        src = (start.unsqueeze(-1) + offset)[attention_mask]
        input_ids[attention_mask] = tokens[src]
        return {'input_ids': input_ids, 'attention_mask': attention_mask}

    def increment(self, key: str, stored: Mapping[str, Any]) -> Optional[Any]:
        return stored['tokens'].numel() if key == 'token_end' else None

    def to_args(self, stored: Mapping[str, Any]) -> Dict[str, Any]:
        return {'tokens': stored['tokens'],
                'token_ptr': end_to_ptr(stored['token_end']),
                'vocab_size': _int_value(stored['vocab_size']),
                'pad_id': _int_value(stored['pad_id'])}


class MoleculePayload(Payload):
    r"""One molecular graph per sample, packed (see
    :mod:`pyg_sip.data.molecules`); :meth:`gather` returns them as one
    :class:`~torch_geometric.data.Batch` under :obj:`'mol_batch'`."""
    kind = 'molecules'
    args = ('molecules', )
    keys = mol.MOLECULE_KEYS
    batch_keys = ('mol_batch', )

    def pack(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        return mol.pack_molecules(args['molecules'])

    def num_samples(self, stored: Mapping[str, Any]) -> int:
        return stored['atom_end'].numel()

    def check(self, stored: Mapping[str, Any], num_nodes: int) -> None:
        mol.check_molecules(*self.tensors(stored), num_nodes)

    @staticmethod
    def tensors(stored: Mapping[str, Any]) -> Tuple[Tensor, Tensor,
                                                    Optional[Tensor], Tensor,
                                                    Tensor]:
        r"""The packed tensors in the order of :mod:`pyg_sip.data.molecules`
        functions."""
        return (stored['atom_x'], stored['bond_index'], stored.get('bond_attr'),
                stored['atom_end'], stored['bond_end'])

    def select(self, stored: Mapping[str, Any],
               index: Tensor) -> Dict[str, Any]:
        atom_x, bond_index, bond_attr, atom_end, bond_end = self.tensors(stored)
        atom_pos, num_atoms = gather_segments(atom_end, index)
        bond_pos, num_bonds = gather_segments(bond_end, index)
        out = {'atom_x': atom_x[atom_pos], 'atom_end': num_atoms.cumsum(0),
               'bond_index': bond_index[:, bond_pos],
               'bond_end': num_bonds.cumsum(0)}
        if bond_attr is not None:
            out['bond_attr'] = bond_attr[bond_pos]
        return out

    def gather(self, stored: Mapping[str, Any], index: Tensor,
               max_length: Optional[int] = None) -> Dict[str, Any]:
        index = index.to(stored['atom_x'].device)
        return {'mol_batch': mol.gather_molecules(*self.tensors(stored), index)}

    def increment(self, key: str, stored: Mapping[str, Any]) -> Optional[Any]:
        if key == 'atom_end':
            return stored['atom_x'].size(0)
        if key == 'bond_end':
            return stored['bond_index'].size(1)
        if key == 'bond_index':  # atom ids are local to their molecule
            return 0
        return None

    def unpack(self, stored: Mapping[str, Any]) -> List[Any]:
        r"""The molecules as a list of :class:`~torch_geometric.data.Data`."""
        return mol.unpack_molecules(*self.tensors(stored))

    def to_args(self, stored: Mapping[str, Any]) -> Dict[str, Any]:
        return {'molecules': self.unpack(stored)}


#: every payload kind, by :attr:`Payload.kind`
PAYLOADS: Dict[str, Payload] = {
    p.kind: p for p in (FeaturePayload(), TokenPayload(), MoleculePayload())
}
#: every attribute stored by some payload
PAYLOAD_KEYS = frozenset(k for p in PAYLOADS.values() for k in p.keys)


def payload_from_args(args: Mapping[str, Any]) -> Optional[Payload]:
    r"""The payload that the constructor arguments :obj:`args` carry
    (:obj:`None` for none), refusing more than one."""
    given = [p for p in PAYLOADS.values() if args.get(p.args[0]) is not None]
    if len(given) > 1:
        names = ' and '.join(p.args[0] for p in given)
        raise PygSipError(f'a SampleGraph holds at most one payload per '
                          f'sample, got {names}')
    if not given and args.get('token_ptr') is not None:
        raise PygSipError("'tokens' and 'token_ptr' must be given together")
    return given[0] if given else None


def payload_of(stored: Mapping[str, Any]) -> Optional[Payload]:
    r"""The payload held by the stored attributes :obj:`stored`, refusing
    more than one."""
    held = [p for p in PAYLOADS.values() if p.keys[0] in stored]
    if len(held) > 1:
        names = ' and '.join(p.args[0] for p in held)
        raise PygSipError(f'a SampleGraph holds at most one payload per '
                          f'sample, got {names}')
    return held[0] if held else None
