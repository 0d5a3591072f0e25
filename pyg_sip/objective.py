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

    where :math:`\mathcal{L}_M` is the per-sample loss (masked tokens,
    masked features, masked atoms; ``sample_loss=None`` counts as 0) and
    :math:`\mathcal{L}_{SI}` a structure loss of :mod:`pyg_sip.losses` over
    the positive pairs :math:`\mathcal{P}` and negative pairs
    :math:`\mathcal{Q}` of the pre-training graph.

    :math:`\lambda = 0` is the LM-only baseline: the structure loss is then
    not computed at all (its parameters get no gradient) and is reported
    as 0. :math:`\lambda = 1` trains the structure loss only: the per-sample
    loss is left out of the total (so a NaN there cannot leak in) but still
    reported.

    The parts are summed in the dtype of the inputs (float64 embeddings and
    a float64 per-sample loss give a float64 loss); float16/bfloat16 parts
    accumulate in float32.

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
          ``sample_loss`` (also accepted as ``lm_loss``, its former name)
        - **output:** dict with ``'loss'`` (scalar, differentiable) and the
          detached scalars ``'sample_loss'`` and ``'structure_loss'`` for
          logging; ``'lm_loss'`` holds the same value as ``'sample_loss'``
          under the former name
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
                sample_loss: Optional[Tensor] = None, *,
                lm_loss: Optional[Tensor] = None) -> Dict[str, Tensor]:
        r"""Returns the total loss and its parts.

        Args:
            z (torch.Tensor): The embeddings :math:`(N, d)`.
            pos_index (torch.Tensor): Positive pairs :math:`(2, P)`.
            neg_index (torch.Tensor): Negative pairs :math:`(2, Q)`.
            sample_loss (torch.Tensor, optional): The per-sample loss
                :math:`\mathcal{L}_M` as a scalar tensor; :obj:`None`
                counts as 0. (default: :obj:`None`)
            lm_loss (torch.Tensor, optional): The former name of
                ``sample_loss``, still accepted. (default: :obj:`None`)
        """
        if lm_loss is not None:
            if sample_loss is not None:
                raise PygSipError("Give the per-sample loss once: "
                                  "'sample_loss' or its alias 'lm_loss', "
                                  "not both")
            sample_loss = lm_loss
        if not isinstance(z, Tensor) or not z.is_floating_point():
            raise PygSipError(f"'z' must be a floating-point tensor (got "
                              f"{getattr(z, 'dtype', type(z).__name__)})")
        if sample_loss is not None and (
                not isinstance(sample_loss, Tensor) or sample_loss.numel() != 1
                or not sample_loss.is_floating_point()):
            raise PygSipError(
                f"'sample_loss' must be a floating-point scalar tensor or "
                f"None (got {type(sample_loss).__name__} "
                f"{getattr(sample_loss, 'dtype', '')} "
                f"{tuple(getattr(sample_loss, 'shape', ()))})")
        lam = self._lam
        structure = total = None
        if lam > 0.0:
            structure = self.structure_loss(z, pos_index, neg_index)
            if not isinstance(structure, Tensor) or structure.numel() != 1:
                raise PygSipError(
                    f'the structure loss {type(self.structure_loss).__name__} must '
                    f'return a scalar tensor (got {type(structure).__name__} '
                    f"{tuple(getattr(structure, 'shape', ()))})")
        dtype = _accumulation_dtype(z, sample_loss, structure)
        zero = torch.zeros((), dtype=dtype, device=z.device)
        if structure is not None:
            structure = structure.to(dtype).reshape(())
            total = lam * structure
        if sample_loss is not None:
            sample_loss = sample_loss.to(dtype).reshape(())
            if lam < 1.0:
                part = (1.0 - lam) * sample_loss
                total = part if total is None else total + part
        if total is None:  # lam = 0 without a sample loss: a zero tied to z
            total = z.sum().to(dtype) * 0.0
        sample = zero if sample_loss is None else sample_loss.detach()
        return {
            'loss': total,
            'sample_loss': sample,
            'lm_loss': sample,  # the former name, kept for existing readers
            'structure_loss': zero if structure is None else structure.detach(),
        }

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(structure_loss='
                f'{self.structure_loss!r}, lam={self._lam})')


def _accumulation_dtype(*parts: Optional[Tensor]) -> torch.dtype:
    r"""The dtype the parts are summed in: their promoted floating dtype,
    at least float32 (float16/bfloat16 accumulate in float32)."""
    dtype = torch.float32
    for part in parts:
        if part is not None:
            dtype = torch.promote_types(dtype, part.dtype)
    return dtype
