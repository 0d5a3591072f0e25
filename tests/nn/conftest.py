"""Small randomly initialised Hugging Face models, written to a temporary
folder with their tokenizers, for the HFEncoder and export tests."""
import os

import pytest
import torch

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

AMINO_ACIDS = list('LAGVSERTIDPKQNFYMHWCXBUZO')
ESM_VOCAB = (['<cls>', '<pad>', '<eos>', '<unk>'] + AMINO_ACIDS +
             ['.', '-', '<null_1>', '<mask>'])
WORDS = ['graph', 'protein', 'the', 'a', 'of', 'learn', 'interact', 'cell']
LETTERS = list('abcdefghijklmnopqrstuvwxyz')
BERT_VOCAB = (['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] + WORDS + LETTERS
              + [f'##{c}' for c in LETTERS] + ['.', ','])


@pytest.fixture(scope='session')
def tiny_esm_dir(tmp_path_factory):
    """A 2-layer ESM model (absolute positions) and its EsmTokenizer."""
    transformers = pytest.importorskip('transformers')
    folder = tmp_path_factory.mktemp('tiny_esm')
    (folder / 'vocab.txt').write_text('\n'.join(ESM_VOCAB) + '\n')
    tokenizer = transformers.EsmTokenizer(vocab_file=str(folder / 'vocab.txt'))
    config = transformers.EsmConfig(
        vocab_size=len(ESM_VOCAB), hidden_size=32, num_hidden_layers=2,
        num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=66, pad_token_id=tokenizer.pad_token_id,
        mask_token_id=tokenizer.mask_token_id,
        position_embedding_type='absolute', token_dropout=False)
    torch.manual_seed(0)
    transformers.EsmModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope='session')
def tiny_bert_dir(tmp_path_factory):
    """A 2-layer BERT model and its WordPiece tokenizer."""
    transformers = pytest.importorskip('transformers')
    folder = tmp_path_factory.mktemp('tiny_bert')
    (folder / 'vocab.txt').write_text('\n'.join(BERT_VOCAB) + '\n')
    tokenizer = transformers.BertTokenizer.from_pretrained(str(folder))
    config = transformers.BertConfig(
        vocab_size=len(BERT_VOCAB), hidden_size=32, num_hidden_layers=2,
        num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=64, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0)
    torch.manual_seed(1)
    transformers.BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
