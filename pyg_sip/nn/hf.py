"""A wrapper around a local pretrained Hugging Face Transformer encoder."""
import inspect
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from pyg_sip._optional import require
from pyg_sip.errors import PygSipError
from pyg_sip.nn.buckets import BucketTokens, check_bucket_tokens
from pyg_sip.nn.heads import MLMHead
from pyg_sip.nn.masking import check_rate
from pyg_sip.nn.token_encoder import DEFAULT_BUCKET_TOKENS, TokenEncoder, masked_mean


class HFTokenizer:
    r"""Gives a Hugging Face tokenizer the interface of the :obj:`pyg_sip`
    tokenizers (:obj:`vocab_size`, :obj:`pad_id`, :obj:`mask_id`,
    :obj:`cls_id`, :obj:`unk_id`, :obj:`special_ids`, :meth:`encode`,
    :meth:`decode`, :meth:`encode_batch`), so it can build a
    :class:`~pyg_sip.data.SampleGraph`.

    Unlike the :obj:`pyg_sip` tokenizers, its ids follow the model's own
    vocabulary (e.g. padding is not necessarily :obj:`0`), and encoded
    sequences carry the model's special tokens (e.g. :obj:`[CLS] ... [SEP]`),
    as the pretrained model expects them.

    Args:
        tokenizer: A :class:`transformers.PreTrainedTokenizerBase`.
    """
    def __init__(self, tokenizer: Any) -> None:
        if tokenizer.pad_token_id is None:
            raise PygSipError(f"The tokenizer '{tokenizer.name_or_path}' has "
                              f'no padding token')
        self.hf_tokenizer = tokenizer

    @property
    def vocab_size(self) -> int:
        return len(self.hf_tokenizer)

    @property
    def pad_id(self) -> int:
        return self.hf_tokenizer.pad_token_id

    @property
    def mask_id(self) -> Optional[int]:
        return self.hf_tokenizer.mask_token_id

    @property
    def cls_id(self) -> Optional[int]:
        tok = self.hf_tokenizer
        return tok.cls_token_id if tok.cls_token_id is not None else (
            tok.bos_token_id)

    @property
    def unk_id(self) -> Optional[int]:
        return self.hf_tokenizer.unk_token_id

    @property
    def special_ids(self) -> List[int]:
        return sorted(set(self.hf_tokenizer.all_special_ids))

    def encode(self, text: str) -> List[int]:
        r"""Token ids of :obj:`text`, with the model's special tokens."""
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str]) -> List[List[int]]:
        r"""Token ids of every text, with the model's special tokens and no
        truncation (sequences are truncated when gathered)."""
        return self.hf_tokenizer(list(texts), add_special_tokens=True,
                                 verbose=False)['input_ids']

    def decode(self, ids: Sequence[int]) -> str:
        r"""The text of :obj:`ids`, special tokens removed."""
        return self.hf_tokenizer.decode(list(ids), skip_special_tokens=True)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f"'{self.hf_tokenizer.name_or_path}', "
                f'vocab_size={self.vocab_size})')


class HFEncoder(TokenEncoder):
    r"""A pretrained Hugging Face Transformer encoder (e.g. BERT, SciBERT,
    `Devlin et al., 2019 <https://arxiv.org/abs/1810.04805>`_, or a protein
    language model such as ESM-2, `Lin et al., 2023
    <https://doi.org/10.1126/science.ade2574>`_) loaded from a local path,
    pooled to one embedding per sample, with an optional linear projection
    and an optional masked-token head.

    .. math::
        \mathbf{z}_i = \mathbf{W}_o \,
        \mathrm{pool}(\mathrm{Transformer}_{\theta_0}(t_i))

    The model and its tokenizer are loaded with
    :obj:`local_files_only=True` (nothing is downloaded): any directory that
    :meth:`transformers.AutoModel.from_pretrained` and
    :meth:`transformers.AutoTokenizer.from_pretrained` read, e.g. a local
    ESM checkpoint with its :obj:`EsmTokenizer` files. Padding, mask and
    special ids come from the tokenizer; :attr:`tokenizer` (a
    :class:`HFTokenizer`) builds sample graphs whose sequences start with
    the model's own CLS token, which :obj:`pooling='cls'` reads. The
    projection and the masked-token head are freshly initialised;
    :meth:`reset_parameters` restores the pretrained weights. Batches are
    encoded by length bucket (see :class:`~pyg_sip.nn.TokenEncoder`).
    :meth:`config_dict` and :meth:`from_config` rebuild the encoder;
    :func:`~pyg_sip.nn.export_hf` and
    :func:`~pyg_sip.nn.export_sentence_transformers` export it. Requires the
    :obj:`text` extra (:obj:`transformers`).

    Args:
        model_path (str or os.PathLike): Local directory of the model and
            its tokenizer.
        pooling (str, optional): :obj:`'cls'` (the first position) or
            :obj:`'mean'`. (default: :obj:`'cls'`)
        mlm (bool, optional): Whether to carry a masked-token head.
            (default: :obj:`False`)
        mask_rate (float, optional): Share of tokens selected for the
            masked-token loss. (default: :obj:`0.15`)
        max_length (int, optional): Maximum number of tokens per sequence
            (longer ones keep their first tokens); the model's limit if
            :obj:`None`. (default: :obj:`None`)
        out_channels (int, optional): If set, a linear projection of the
            pooled state to this size. (default: :obj:`None`)
        bucket_tokens (int or str, optional): Token budget of one length
            bucket (see :class:`~pyg_sip.nn.TokenEncoder`); :obj:`'auto'`
            picks one for the device, :obj:`None` encodes every batch padded
            to its longest sample. (default: :obj:`'auto'`)

    Shapes:
        - **input:** input_ids :math:`(B, L)`, attention_mask :math:`(B, L)`
        - **output:** :math:`(B, \text{out\_channels})`
    """
    needs_graph = False

    def __init__(
        self,
        model_path: Union[str, os.PathLike],
        pooling: str = 'cls',
        mlm: bool = False,
        mask_rate: float = 0.15,
        max_length: Optional[int] = None,
        out_channels: Optional[int] = None,
        bucket_tokens: BucketTokens = DEFAULT_BUCKET_TOKENS,
    ) -> None:
        super().__init__()
        if pooling not in ('cls', 'mean'):
            raise PygSipError(f"'pooling' must be 'cls' or 'mean' "
                              f"(got '{pooling}')")
        if not os.path.isdir(model_path):
            raise PygSipError(f"'{model_path}' is not a local model "
                              f'directory')
        if max_length is not None and max_length < 1:
            raise PygSipError(f"'max_length' must be positive "
                              f'(got {max_length})')
        if out_channels is not None and out_channels < 1:
            raise PygSipError(f"'out_channels' must be positive "
                              f'(got {out_channels})')
        self.mask_rate = check_rate('mask_rate', mask_rate)
        self.bucket_tokens = check_bucket_tokens(bucket_tokens)
        transformers = require('transformers')
        self.model_path = str(model_path)
        self.tokenizer = HFTokenizer(
            transformers.AutoTokenizer.from_pretrained(
                self.model_path, local_files_only=True))
        self.model = self._load_model()
        self.hidden_channels = self.model.config.hidden_size
        self.out_channels = out_channels or self.hidden_channels
        self.pooling = pooling
        self.mlm = mlm
        self.vocab_size = self.model.get_input_embeddings().num_embeddings
        self.pad_id = self.tokenizer.pad_id
        self.mask_id = self.tokenizer.mask_id
        self.special_ids = self.tokenizer.special_ids
        model_max = model_max_length(self.model, self.tokenizer.hf_tokenizer)
        self.requested_max_length = max_length
        self.max_length = min(max_length or model_max, model_max)
        if mlm and mask_rate > 0 and self.mask_id is None:
            raise PygSipError(f"The tokenizer of '{self.model_path}' has no "
                              f'mask token: use mlm=False')
        self.lin = (torch.nn.Linear(self.hidden_channels, out_channels)
                    if out_channels is not None else None)
        self.mlm_head = (MLMHead(self.hidden_channels, self.vocab_size)
                         if mlm and mask_rate > 0 else None)
        if self.lin is not None:
            self.lin.reset_parameters()
        self.train()

    def _load_model(self) -> Any:
        transformers = require('transformers')
        return transformers.AutoModel.from_pretrained(self.model_path,
                                                      local_files_only=True)

    def reset_parameters(self) -> None:
        r"""Restores the pretrained weights and re-initialises the
        projection and the masked-token head."""
        self.model.load_state_dict(self._load_model().state_dict())
        if self.lin is not None:
            self.lin.reset_parameters()
        if self.mlm_head is not None:
            self.mlm_head.reset_parameters()

    def config_dict(self) -> Dict[str, Any]:
        r"""The constructor arguments as a JSON-serialisable dict, so that
        :meth:`from_config` rebuilds the same architecture (weights are in
        :meth:`state_dict`)."""
        return {'model_path': self.model_path, 'pooling': self.pooling,
                'mlm': self.mlm, 'mask_rate': self.mask_rate,
                'max_length': self.requested_max_length,
                'out_channels': None if self.lin is None else
                self.out_channels, 'bucket_tokens': self.bucket_tokens}

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        model_path: Optional[Union[str, os.PathLike]] = None,
    ) -> 'HFEncoder':
        r"""Rebuilds an encoder from :meth:`config_dict`.

        Args:
            config (Mapping[str, Any]): The output of :meth:`config_dict`.
            model_path (str or os.PathLike, optional): A local model
                directory that replaces :obj:`config['model_path']`, e.g.
                the directory written by :func:`~pyg_sip.nn.export_hf` in a
                run folder. (default: :obj:`None`)
        """
        allowed = set(inspect.signature(cls.__init__).parameters) - {'self'}
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise PygSipError(f"Unknown HFEncoder config key(s) {unknown}; "
                              f'expected some of {sorted(allowed)}')
        kwargs = dict(config)
        if model_path is not None:
            kwargs['model_path'] = model_path
        if 'model_path' not in kwargs:
            raise PygSipError("The HFEncoder config has no 'model_path' and "
                              'none was given')
        return cls(**kwargs)

    def truncate(self, input_ids: Tensor,
                 attention_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        r"""Keeps the first :obj:`max_length` positions, as the Hugging Face
        tokenizer's own truncation does: a longer sequence that ends with the
        tokenizer's closing token (``[SEP]``, ``</s>``, ``<eos>``) keeps it
        in its last kept position."""
        ids, mask = super().truncate(input_ids, attention_mask)
        hf = self.tokenizer.hf_tokenizer
        end_ids = [i for i in (getattr(hf, 'sep_token_id', None),
                               getattr(hf, 'eos_token_id', None)) if i is not None]
        if not end_ids or input_ids.size(1) <= self.max_length:
            return ids, mask
        full = (input_ids != self.pad_id if attention_mask is None
                else attention_mask.bool())
        length = full.sum(dim=1)
        last = input_ids.gather(1, (length - 1).clamp(min=0).view(-1, 1)).view(-1)
        cut = (length > self.max_length) & torch.isin(
            last, torch.tensor(end_ids, device=last.device))
        ids = ids.clone()
        ids[:, -1] = torch.where(cut, last, ids[:, -1])
        return ids, mask

    def encode_block(self, input_ids: Tensor,
                     key_mask: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Encodes one padded block of truncated, checked sequences (see
        :meth:`pyg_sip.nn.TokenEncoder.encode_block`)."""
        hidden = self.model(input_ids=input_ids,
                            attention_mask=key_mask.long()).last_hidden_state
        pooled = hidden[:, 0] if self.pooling == 'cls' else masked_mean(
            hidden, key_mask)
        z = self.lin(pooled) if self.lin is not None else pooled
        return z, hidden

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}('{self.model_path}', "
                f"pooling='{self.pooling}', out_channels={self.out_channels}"
                f', mlm={self.mlm})')


def model_max_length(model: Any, tokenizer: Any) -> int:
    r"""The longest input (special tokens included) that :obj:`model` and
    :obj:`tokenizer` accept: the smaller of the tokenizer's
    :obj:`model_max_length` and the model's absolute position table, less
    the offset of models that number positions from :obj:`padding_idx + 1`
    (RoBERTa, ESM with absolute positions)."""
    config = model.config
    limit = tokenizer.model_max_length
    embeddings = getattr(model, 'embeddings', None)
    kind = getattr(config, 'position_embedding_type', 'absolute')
    table = getattr(config, 'max_position_embeddings', None)
    if table is not None and kind == 'absolute':
        offset = getattr(embeddings, 'padding_idx', None)
        limit = min(limit, table - (offset + 1 if offset is not None else 0))
    return int(min(limit, 1 << 20))
