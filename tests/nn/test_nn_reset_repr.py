import pytest
import torch

from pyg_sip.nn import (
    FeatureMaskingHead,
    GNNEncoder,
    MLMHead,
    MLPEncoder,
    MoleculeEncoder,
    SequenceEncoder,
    TransformerLayer,
)

CASES = {
    'sequence_cls': (
        lambda: SequenceEncoder(20, 16, 2, 4, max_length=8, out_channels=4),
        "SequenceEncoder(vocab_size=20, hidden_channels=16, num_layers=2, "
        "num_heads=4, max_length=8, positions='learned', pooling='cls', "
        "out_channels=4, mlm=True)"),
    'sequence_mean': (
        lambda: SequenceEncoder(20, 16, 1, 2, positions='sinusoidal',
                                pooling='mean', mlm=False),
        "SequenceEncoder(vocab_size=20, hidden_channels=16, num_layers=1, "
        "num_heads=2, max_length=512, positions='sinusoidal', "
        "pooling='mean', out_channels=16, mlm=False)"),
    'mlp': (
        lambda: MLPEncoder(6, 8, 4, reconstruction='bce'),
        "MLPEncoder(6, 4, hidden_channels=8, num_layers=2, "
        "feature_masking=FeatureMaskingHead(4 -> 6, mask_rate=0.15, "
        "reconstruction='bce', mask_value='learned'))"),
    'gnn_gin': (
        lambda: GNNEncoder(6, 8, 4, conv='gin', mask_rate=0.0),
        "GNNEncoder(6, 4, conv='gin', hidden_channels=8, num_layers=2, "
        "feature_masking=None)"),
    'gnn_sage': (lambda: GNNEncoder(6, 8, 4, conv='sage', num_layers=3),
                 None),
    'gnn_gcn': (lambda: GNNEncoder(6, 8, 4, conv='gcn'), None),
    'molecule': (
        lambda: MoleculeEncoder(8, num_layers=2, out_channels=4),
        "MoleculeEncoder(hidden_channels=8, num_layers=2, out_channels=4, "
        "pooling='mean', mask_rate=0.15)"),
    'mlm_head': (lambda: MLMHead(8, 20), 'MLMHead(8, vocab_size=20)'),
    'feature_head': (
        lambda: FeatureMaskingHead(5, 3, mask_rate=0.2, mask_value='zero'),
        "FeatureMaskingHead(3 -> 5, mask_rate=0.2, reconstruction='mse', "
        "mask_value='zero')"),
    'transformer_layer': (lambda: TransformerLayer(8, 2, 16), None),
}


@pytest.mark.parametrize('name', list(CASES))
def test_reset_parameters_is_deterministic_under_a_seed(name):
    factory, _ = CASES[name]
    model = factory()

    def reset(seed):
        torch.manual_seed(seed)
        model.reset_parameters()
        return [p.detach().clone() for p in model.parameters()]

    first = reset(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    restored = reset(1)
    other = reset(2)
    assert all(torch.equal(a, b) for a, b in zip(first, restored))
    # Every randomly initialised tensor changes with the seed:
    random = [(a, b) for a, b in zip(first, other) if a.unique().numel() > 1]
    assert random and all(not torch.equal(a, b) for a, b in random)


@pytest.mark.parametrize('name', [n for n, c in CASES.items() if c[1]])
def test_repr(name):
    factory, expected = CASES[name]
    assert repr(factory()) == expected
