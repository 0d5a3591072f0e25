r"""The mini-batch that :class:`~pyg_sip.sampling.StructureLoader` yields and
every encoder consumes."""
from typing import Any, Callable, Optional

from torch import Tensor
from torch_geometric.data import Data


class StructureBatch(Data):
    r"""A mini-batch of Structure-Inducing Pre-Training: a set of anchor
    samples, their positives and negatives over the pre-training graph
    :math:`G_{PT}`, deduplicated into :math:`U` distinct samples that are
    each encoded once, and the pairs as local indices into them.

    The structure loss reads the embeddings :math:`z \in \mathbb{R}^{U
    \times d}` of the first :obj:`num_embedded` samples and the pairs,

    .. math::
        \mathcal{L}_{SI} = \mathcal{L}\big(z, \{(a, p)\}_{\text{pos\_index}},
        \{(a, n)\}_{\text{neg\_index}}\big).

    Fields (:math:`B` anchors, :math:`U` embedded samples, :math:`U' \geq U`
    samples with payload):

    - :obj:`n_id` [:math:`U'`]: the global sample ids, anchors first (in
      batch order), then the other embedded samples (positives, negatives),
      then, for message-passing encoders only, the extra k-hop neighbours;
    - :obj:`num_anchors` (:math:`B`) and :obj:`num_embedded` (:math:`U`):
      the first :math:`B` (resp. :math:`U`) entries of :obj:`n_id`;
    - :obj:`pos_index` [2, P] and :obj:`neg_index` [2, Q]: the positive and
      negative pairs as local indices into :obj:`n_id` (row 0 = anchor,
      :math:`< B`; row 1 :math:`< U`);
    - the payload of all :math:`U'` samples, one of: :obj:`x` [:math:`U'`, F]
      (dense features); :obj:`input_ids` and the boolean
      :obj:`attention_mask` [:math:`U'`, L] (token sequences, padded to the
      longest); :obj:`mol_batch`, a :class:`~torch_geometric.data.Batch` of
      :math:`U'` molecules;
    - message-passing encoders only: :obj:`edge_index` [2, E], the sampled
      k-hop graph over :obj:`n_id` (local ids, row 0 = source) without any
      anchor–positive edge, in either direction, so that the loss cannot be
      satisfied by leakage.

    :obj:`num_nodes` is :math:`U'`. Pair indices are shifted by it under
    PyG batching (:meth:`~torch_geometric.data.Batch.from_data_list`), and
    :meth:`to` moves every tensor, the molecule batch included.

    Args:
        n_id (torch.Tensor, optional): Global sample ids. (default:
            :obj:`None`)
        pos_index (torch.Tensor, optional): Positive pairs. (default:
            :obj:`None`)
        neg_index (torch.Tensor, optional): Negative pairs. (default:
            :obj:`None`)
        num_anchors (int, optional): :math:`B`. (default: :obj:`None`)
        num_embedded (int, optional): :math:`U`. (default: :obj:`None`, all
            samples of :obj:`n_id`)
        **kwargs (optional): The payload and :obj:`edge_index`.

    Shapes:
        - **n_id:** :math:`(U')`; **pos_index:** :math:`(2, P)`;
          **neg_index:** :math:`(2, Q)`; **edge_index:** :math:`(2, E)`
    """
    def __init__(self, n_id: Optional[Tensor] = None,
                 pos_index: Optional[Tensor] = None,
                 neg_index: Optional[Tensor] = None,
                 num_anchors: Optional[int] = None,
                 num_embedded: Optional[int] = None, **kwargs: Any):
        super().__init__(n_id=n_id, pos_index=pos_index, neg_index=neg_index,
                         **kwargs)
        if n_id is not None:
            self.num_nodes = n_id.numel()
            if num_embedded is None:
                num_embedded = n_id.numel()
        if num_anchors is not None:
            self.num_anchors = num_anchors
        if num_embedded is not None:
            self.num_embedded = num_embedded

    def apply(self, func: Callable, *args: str) -> 'StructureBatch':
        r"""Applies :obj:`func` to every tensor (of the attributes
        :obj:`args`, if given), inside :obj:`mol_batch` too, so that
        :meth:`to`, :meth:`cpu`, :meth:`cuda` and :meth:`pin_memory` move the
        whole batch."""
        super().apply(func, *args)
        mol_batch = self._store.get('mol_batch')
        if isinstance(mol_batch, Data) and (not args or 'mol_batch' in args):
            mol_batch.apply(func)
        return self

    @property
    def num_seeds(self) -> Any:
        r"""Deprecated alias of :obj:`num_embedded` ("seed" names the random
        seed only)."""
        return self._store.get('num_embedded')

    @num_seeds.setter
    def num_seeds(self, value: Any):
        self._store['num_embedded'] = value
