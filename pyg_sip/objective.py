"""The SIPT pre-training objective:
(1 - λ) · per-sample loss + λ · structure loss."""
import math
import numbers
from typing import Dict, Optional, Union

import torch
from torch import Tensor, nn

from pyg_sip.errors import PygSipError
from pyg_sip.losses import get_loss


class SIPObjective(nn.Module):
    r"""The structure-inducing pre-training objective from the
    `"Structure-inducing pre-training" <https://arxiv.org/abs/2103.10334>`_
    paper (McDermott et al., 2023),

    .. math::
        \mathcal{L}_{PT} = (1 - \lambda) \, \mathcal{L}_M +
        \lambda \, \mathcal{L}_{SI}(z, \mathcal{P}, \mathcal{Q}),

    where :math:`\mathcal{L}_M` is the per-sample loss (masked-token LM,
    attribute masking; ``lm_loss=None`` counts as 0) and
    :math:`\mathcal{L}_{SI}` a structure loss of :mod:`pyg_sip.losses` over
    the positive pairs :math:`\mathcal{P}` and negative pairs
    :math:`\mathcal{Q}` of the pre-training graph.

    :math:`\lambda = 0` is the LM-only baseline: the structure loss is then
    not computed at all (its parameters get no gradient) and is reported
    as 0. :math:`\lambda = 1` trains the structure loss only: the per-sample
    loss is left out of the total (so a NaN there cannot leak in) but still
    reported.

    Args:
        structure_loss (str or torch.nn.Module, optional): A name known to
            :func:`~pyg_sip.losses.get_loss` or a module called as
            ``loss(z, pos_index, neg_index)``. Its parameters (e.g. of
            ``'bilinear'``) are parameters of this module.
            (default: :obj:`'multi_similarity'`)
        lam (float, optional): The weight :math:`\lambda \in [0, 1]`.
            (default: :obj:`0.1`)
        **loss_kwargs (optional): Arguments of the named structure loss,
            e.g. ``dim=128`` for ``'bilinear'``.

    Shapes:
        - **input:** embeddings :math:`(N, d)`, positive pairs
          :math:`(2, P)`, negative pairs :math:`(2, Q)`, optional scalar
          ``lm_loss``
        - **output:** dict with ``'loss'`` (scalar, differentiable) and the
          detached scalars ``'lm_loss'`` and ``'structure_loss'`` for logging
    """
    def __init__(self, structure_loss: Union[str, nn.Module] =
                 'multi_similarity', lam: float = 0.1, **loss_kwargs):
        super().__init__()
        if isinstance(structure_loss, str):
            structure_loss = get_loss(structure_loss, **loss_kwargs)
        elif not isinstance(structure_loss, nn.Module):
            raise PygSipError(f"'structure_loss' must be a loss name or an "
                              f"nn.Module (got "
                              f"{type(structure_loss).__name__})")
        elif loss_kwargs:
            raise PygSipError(f"Loss arguments {sorted(loss_kwargs)} only "
                              f"apply to a structure loss given by name")
        self.structure_loss = structure_loss
        self.lam = lam

    @property
    def lam(self) -> float:
        r"""The weight :math:`\lambda` of the structure loss; assigning it is
        validated the same way as in the constructor."""
        return self._lam

    @lam.setter
    def lam(self, value: float) -> None:
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or math.isnan(value) or not 0.0 <= value <= 1.0):
            raise PygSipError(f"'lam' must be a number in [0, 1] "
                              f"(got {value!r})")
        self._lam = float(value)  # also turns numpy scalars into float

    def forward(self, z: Tensor, pos_index: Tensor, neg_index: Tensor,
                lm_loss: Optional[Tensor] = None) -> Dict[str, Tensor]:
        if lm_loss is not None and (not isinstance(lm_loss, Tensor)
                                    or lm_loss.numel() != 1):
            raise PygSipError(f"'lm_loss' must be a scalar tensor or None "
                              f"(got {type(lm_loss).__name__} "
                              f"{tuple(getattr(lm_loss, 'shape', ()))})")
        lam = self._lam
        zero = torch.zeros((), dtype=torch.float32, device=z.device)
        structure, total = zero, None
        if lam > 0.0:
            structure = self.structure_loss(z, pos_index, neg_index)
            total = lam * structure.float()
        if lm_loss is not None and lam < 1.0:
            part = (1.0 - lam) * lm_loss.float().reshape(())
            total = part if total is None else total + part
        if total is None:  # lam = 0 without lm_loss: a zero still tied to z
            total = z.sum().float() * 0.0
        return {
            'loss': total,
            'lm_loss': (zero if lm_loss is None else
                        lm_loss.detach().float().reshape(())),
            'structure_loss': structure.detach().float(),
        }

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(structure_loss='
                f'{self.structure_loss!r}, lam={self._lam})')
