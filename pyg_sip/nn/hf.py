"""A wrapper around a local pretrained Hugging Face Transformer encoder."""
import os
from typing import Any, List, Optional, Sequence, Tuple, Union

from torch import Tensor

from pyg_sip._optional import require
from pyg_sip.errors import PygSipError
from pyg_sip.nn.heads import MLMHead
from pyg_sip.nn.masking import check_rate
from pyg_sip.nn.sequence import TokenEncoder, masked_mean


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
    `Devlin et al., 2019 <https://arxiv.org/abs/1810.04805>`_) loaded from a
    local path, pooled to one embedding per sample, with an optional
    masked-token head.

    .. math::
        \mathbf{z}_i = \mathrm{pool}(\mathrm{Transformer}_{\theta_0}(t_i))

    The model and its tokenizer are loaded with
    :obj:`local_files_only=True` (nothing is downloaded). Padding, mask and
    special ids come from the tokenizer; :attr:`tokenizer` (a
    :class:`HFTokenizer`) builds sample graphs whose sequences start with
    the model's own CLS token, which :obj:`pooling='cls'` reads. The
    masked-token head is freshly initialised. :meth:`reset_parameters`
    restores the pretrained weights. Requires the :obj:`text` extra
    (:obj:`transformers`).

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

    Shapes:
        - **input:** input_ids :math:`(B, L)`, attention_mask :math:`(B, L)`
        - **output:** :math:`(B, H)`
    """
    needs_graph = False

    def __init__(
        self,
        model_path: Union[str, os.PathLike],
        pooling: str = 'cls',
        mlm: bool = False,
        mask_rate: float = 0.15,
        max_length: Optional[int] = None,
    ) -> None:
        super().__init__()
        if pooling not in ('cls', 'mean'):
            raise PygSipError(f"'pooling' must be 'cls' or 'mean' "
                              f"(got '{pooling}')")
        if not os.path.isdir(model_path):
            raise PygSipError(f"'{model_path}' is not a local model "
                              f'directory')
        transformers = require('transformers')
        self.model_path = str(model_path)
        self.tokenizer = HFTokenizer(
            transformers.AutoTokenizer.from_pretrained(
                self.model_path, local_files_only=True))
        self.model = self._load_model()
        config = self.model.config
        self.hidden_channels = config.hidden_size
        self.out_channels = config.hidden_size
        self.pooling = pooling
        self.mlm = mlm
        self.mask_rate = check_rate('mask_rate', mask_rate)
        self.vocab_size = self.model.get_input_embeddings().num_embeddings
        self.pad_id = self.tokenizer.pad_id
        self.mask_id = self.tokenizer.mask_id
        self.special_ids = self.tokenizer.special_ids
        model_max = min(config.max_position_embeddings,
                        self.tokenizer.hf_tokenizer.model_max_length)
        self.max_length = min(max_length or model_max, model_max)
        if mlm and mask_rate > 0 and self.mask_id is None:
            raise PygSipError(f"The tokenizer of '{self.model_path}' has no "
                              f'mask token: use mlm=False')
        self.mlm_head = (MLMHead(self.hidden_channels, self.vocab_size)
                         if mlm and mask_rate > 0 else None)
        self.train()

    def _load_model(self) -> Any:
        transformers = require('transformers')
        return transformers.AutoModel.from_pretrained(self.model_path,
                                                      local_files_only=True)

    def reset_parameters(self) -> None:
        r"""Restores the pretrained weights and re-initialises the
        masked-token head."""
        self.model.load_state_dict(self._load_model().state_dict())
        if self.mlm_head is not None:
            self.mlm_head.reset_parameters()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Optional[Tensor] = None,
        return_hidden: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        r"""Embeds a batch of padded sequences (see
        :meth:`pyg_sip.nn.SequenceEncoder.forward`)."""
        input_ids, mask = self.truncate(input_ids, attention_mask)
        self.check_tokens(input_ids, mask)
        hidden = self.model(input_ids=input_ids,
                            attention_mask=mask.long()).last_hidden_state
        pooled = hidden[:, 0] if self.pooling == 'cls' else masked_mean(
            hidden, mask)
        return (pooled, hidden) if return_hidden else pooled

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}('{self.model_path}', "
                f"pooling='{self.pooling}', out_channels={self.out_channels}"
                f', mlm={self.mlm})')
