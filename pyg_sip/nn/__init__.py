"""Sample encoders, their sample-loss heads, and export to the Hugging Face
ecosystem."""
from pyg_sip.nn.base import Encoder
from pyg_sip.nn.export import export_hf, export_sentence_transformers
from pyg_sip.nn.features import FeatureEncoder
from pyg_sip.nn.gnn import GNNEncoder
from pyg_sip.nn.heads import FeatureMaskingHead, MLMHead
from pyg_sip.nn.hf import HFEncoder, HFTokenizer
from pyg_sip.nn.masking import mask_entries, mask_tokens
from pyg_sip.nn.mlp import MLPEncoder
from pyg_sip.nn.molecule import MoleculeEncoder
from pyg_sip.nn.sequence import SequenceEncoder, TokenEncoder, TransformerLayer

__all__ = [
    'Encoder',
    'TokenEncoder',
    'FeatureEncoder',
    'SequenceEncoder',
    'TransformerLayer',
    'MLPEncoder',
    'GNNEncoder',
    'MoleculeEncoder',
    'HFEncoder',
    'HFTokenizer',
    'MLMHead',
    'FeatureMaskingHead',
    'mask_tokens',
    'mask_entries',
    'export_hf',
    'export_sentence_transformers',
]
