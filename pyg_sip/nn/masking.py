"""Input corruption for the sample losses: masked tokens and masked
feature entries."""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError

IGNORE_INDEX = -100


def random_uniform(shape: Tuple[int, ...], device: torch.device,
                 generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Draws :math:`U(0, 1)` numbers of :obj:`shape` on :obj:`device`, from
    :obj:`generator` if given (on the generator's own device, so a CPU
    generator drives CUDA tensors reproducibly)."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator,
                      device=generator.device).to(device)


def check_rate(name: str, value: float) -> float:
    r"""Returns :obj:`value` if it lies in :math:`[0, 1]`, else raises a
    :class:`PygSipError` naming the argument."""
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise PygSipError(f"'{name}' must lie in [0, 1] (got {value})")
    return value


def mask_tokens(
    input_ids: Tensor,
    vocab_size: int,
    mask_id: int,
    special_ids: Sequence[int],
    attention_mask: Optional[Tensor] = None,
    mask_rate: float = 0.15,
    replace_rate: float = 0.8,
    random_rate: float = 0.1,
    generator: Optional[torch.Generator] = None,
) -> Tuple[Tensor, Tensor]:
    r"""Corrupts token sequences for masked-token pre-training with the rule
    of BERT (`Devlin et al., 2019 <https://arxiv.org/abs/1810.04805>`_).

    Every position that is a real token (:obj:`attention_mask` is
    :obj:`True`) and not a special token is selected independently with
    probability :obj:`mask_rate`. A selected token is replaced by
    :obj:`mask_id` with probability :obj:`replace_rate`, by a regular token
    drawn uniformly from all ids in :obj:`[0, vocab_size)` that are not in
    :obj:`special_ids` with probability :obj:`random_rate`, and kept
    otherwise:

    .. math::
        \tilde{t}_i = \begin{cases}
        \texttt{[MASK]} & \text{w.p. } p_m \cdot r \\
        t' \sim U(\mathcal{V} \setminus \mathcal{S}) & \text{w.p. }
        p_m \cdot q \\
        t_i & \text{otherwise}
        \end{cases}

    Padding and special tokens are never selected and never produced
    (except :obj:`mask_id` itself).

    Args:
        input_ids (torch.Tensor): Token ids.
        vocab_size (int): Size of the vocabulary.
        mask_id (int): Id of the mask token.
        special_ids (Sequence[int]): Ids that are never selected nor drawn as
            random replacements (padding, mask, CLS, UNK, ...).
        attention_mask (torch.Tensor, optional): :obj:`True` at real tokens.
            If :obj:`None`, every non-special position is eligible.
            (default: :obj:`None`)
        mask_rate (float, optional): Probability of selecting an eligible
            position. (default: :obj:`0.15`)
        replace_rate (float, optional): Share of selected positions replaced
            by :obj:`mask_id`. (default: :obj:`0.8`)
        random_rate (float, optional): Share of selected positions replaced
            by a random regular token. (default: :obj:`0.1`)
        generator (torch.Generator, optional): Source of randomness.
            (default: :obj:`None`)

    Returns:
        :obj:`(corrupted_ids, labels)`: the corrupted ids, and the original id
        at selected positions with :obj:`-100` elsewhere.

    Shapes:
        - **input:** input_ids :math:`(B, L)`, attention_mask :math:`(B, L)`
        - **output:** :math:`(B, L)`, :math:`(B, L)`
    """
    check_rate('mask_rate', mask_rate)
    check_rate('replace_rate', replace_rate)
    check_rate('random_rate', random_rate)
    if replace_rate + random_rate > 1.0 + 1e-12:
        raise PygSipError(f"'replace_rate' + 'random_rate' must not exceed 1 "
                          f'(got {replace_rate} + {random_rate})')
    device = input_ids.device
    special = torch.as_tensor(list(special_ids), dtype=torch.long,
                              device=device)
    eligible = ~torch.isin(input_ids, special)
    if attention_mask is not None:
        eligible &= attention_mask.bool()

    draws = random_uniform((2, ) + tuple(input_ids.shape), device, generator)
    selected = eligible & (draws[0] < mask_rate)
    labels = torch.where(selected, input_ids,
                         torch.full_like(input_ids, IGNORE_INDEX))

    regular = torch.arange(vocab_size, device=device)
    regular = regular[~torch.isin(regular, special)]
    if random_rate > 0 and regular.numel() == 0:
        raise PygSipError(f'No regular token id in [0, {vocab_size}) outside '
                          f'special_ids={list(special_ids)}')
    to_mask = selected & (draws[1] < replace_rate)
    to_random = selected & (draws[1] >= replace_rate) & (
        draws[1] < replace_rate + random_rate)

    out = input_ids.masked_fill(to_mask, mask_id)
    if random_rate > 0:
        # One uniform draw per position, mapped to an index of `regular`:
        pick = random_uniform(tuple(input_ids.shape), device, generator)
        pick = (pick * regular.numel()).long().clamp_(max=regular.numel() - 1)
        out = torch.where(to_random, regular[pick], out)
    return out, labels


def mask_entries(
    shape: Tuple[int, ...],
    mask_rate: float,
    device: torch.device,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    r"""Selects each entry of a tensor of :obj:`shape` independently with
    probability :obj:`mask_rate` (feature masking, attribute masking).

    Returns:
        A boolean tensor of :obj:`shape`, :obj:`True` at selected entries.
    """
    check_rate('mask_rate', mask_rate)
    return random_uniform(tuple(shape), device, generator) < mask_rate
