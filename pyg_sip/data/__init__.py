r"""Samples, the pre-training graph :math:`G_{PT}` over them, and the
tokenizers that turn per-sample sequences into token ids."""
from pyg_sip.data.io import load_graph, save_graph
from pyg_sip.data.payload import PAYLOADS, FeaturePayload, MoleculePayload, Payload, TokenPayload
from pyg_sip.data.sample_graph import SampleGraph
from pyg_sip.data.tokenizers import (
    CLS_ID,
    MASK_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    AminoAcidTokenizer,
    CharTokenizer,
    Tokenizer,
    WordTokenizer,
    load_tokenizer,
    save_tokenizer,
)

__all__ = [
    'SampleGraph',
    'Payload',
    'FeaturePayload',
    'TokenPayload',
    'MoleculePayload',
    'PAYLOADS',
    'load_graph',
    'save_graph',
    'Tokenizer',
    'AminoAcidTokenizer',
    'CharTokenizer',
    'WordTokenizer',
    'save_tokenizer',
    'load_tokenizer',
    'PAD_ID',
    'MASK_ID',
    'CLS_ID',
    'UNK_ID',
    'SPECIAL_TOKENS',
]
