import json

import pytest

from pyg_sip.errors import PygSipError
from pyg_sip.pipeline import PretrainConfig, RunConfig
from pyg_sip.pipeline.config import read_config_file


@pytest.mark.parametrize('field,value', [
    ('steps', 'ten'), ('steps', 0), ('steps', 2.5), ('steps', True), ('lr', -1), ('lr', 0),
    ('lr', float('nan')), ('grad_clip', 0), ('grad_clip', -1.0), ('weight_decay', -0.1),
    ('dropout', 1.0), ('mask_rate', -0.1), ('batch_size', None), ('hidden_channels', 0),
    ('warmup_steps', -1), ('num_negatives', -1), ('checkpoint_every', 0),
    ('schedule', 'step'), ('pooling', 'max'), ('encoder', 'resnet'),
    ('negative_sampling', 'random'), ('structure_loss', 'no_such_loss'),
    ('num_neighbors', []), ('num_neighbors', [5, 'x']), ('loss_kwargs', ['margin']),
    ('model_path', 3),
])
def test_every_field_checked(field, value):
    with pytest.raises(PygSipError) as e:
        PretrainConfig(**{field: value})
    shown = value[-1] if field == 'num_neighbors' and value else value  # the bad entry
    assert f"'{field}'" in str(e.value) and repr(shown) in str(e.value)


def test_valid_values_pass_and_normalise():
    c = PretrainConfig(lr=1, grad_clip=None, num_neighbors=(5, 5), checkpoint_every=None,
                       mask_rate=0)
    assert c.lr == 1.0 and isinstance(c.lr, float) and c.num_neighbors == [5, 5]
    assert PretrainConfig(checkpoint_every=7).checkpoint_every == 7
    with pytest.raises(PygSipError, match='model_path'):
        PretrainConfig(encoder='hf')


def test_json_field_error_names_file_line_and_value(tmp_path):
    path = tmp_path / 'c.json'
    path.write_text('{\n "hidden_channels": 8,\n "steps": "ten"\n}')
    with pytest.raises(PygSipError) as e:
        PretrainConfig.from_file(path)
    assert str(path) in str(e.value) and 'line 3' in str(e.value) and "'ten'" in str(e.value)
    path.write_text('{"steps": 3,\n "lr": 0.1,,}')
    with pytest.raises(PygSipError, match='line 2: invalid JSON'):
        PretrainConfig.from_json(path)


def test_yaml_config_and_parse_error_line(tmp_path):
    pytest.importorskip('yaml')
    path = tmp_path / 'run.yaml'
    path.write_text('data:\n  graph: g.pt\nlam: 0.3\nsteps: 5\nloss_kwargs:\n  margin: 0.5\n')
    config = RunConfig.from_file(path)
    assert config.lam == 0.3 and config.pretrain.steps == 5
    assert config.pretrain.loss_kwargs == {'margin': 0.5}
    assert config.data == {'graph': str((tmp_path / 'g.pt').resolve())}  # relative to file
    path.write_text('steps: 5\nlr: [1, 2\nseed: 1\n')
    with pytest.raises(PygSipError) as e:
        RunConfig.from_file(path)
    assert str(path) in str(e.value) and 'invalid YAML' in str(e.value)
    assert 'line 3' in str(e.value) or 'line 2' in str(e.value)
    path.write_text('seed: 0\ngrad_clip: 0\n')
    with pytest.raises(PygSipError, match=r'line 2: .*grad_clip'):
        RunConfig.from_file(path)


def test_yaml_without_pyyaml_is_a_clear_error(tmp_path, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_yaml(name, *args, **kwargs):
        if name == 'yaml':
            raise ImportError('No module named yaml')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_yaml)
    path = tmp_path / 'c.yml'
    path.write_text('steps: 3\n')
    with pytest.raises(PygSipError, match='PyYAML'):
        read_config_file(path)


@pytest.mark.parametrize('values,match', [
    ({'lam': 1.5}, "'lam'"), ({'lam': 'x'}, "'lam'"), ({'seed': -1}, "'seed'"),
    ({'seed': 1.0}, "'seed'"), ({'data': 'g.pt'}, "'data'"),
    ({'data': {'graph': 'g.pt', 'x': 1}}, "'data'"), ({'data': {'root': 'x'}}, "'data'"),
    ({'stepz': 3}, 'stepz'), ({'steps': 'ten'}, "'steps'"),
])
def test_run_config_checked(values, match):
    with pytest.raises(PygSipError, match=match):
        RunConfig.from_dict(values)


def test_run_config_round_trip(tmp_path):
    config = RunConfig(data={'kind': 'cliques', 'num_cliques': 3}, lam=0.2, seed=4,
                       pretrain=PretrainConfig(steps=7, loss_kwargs={'neg_margin': 2.0}))
    path = tmp_path / 'config.json'
    path.write_text(json.dumps(config.to_dict()))
    assert RunConfig.from_file(path) == config
    top = json.loads(path.read_text())
    assert top['steps'] == 7 and top['lam'] == 0.2  # one flat mapping
    path.write_text('[1, 2]')
    with pytest.raises(PygSipError, match='mapping'):
        RunConfig.from_file(path)
    with pytest.raises(PygSipError, match='no such config file'):
        RunConfig.from_file(tmp_path / 'missing.json')


def test_all_in_batch_negatives_config():
    config = PretrainConfig(num_negatives=None, negative_sampling='in_batch')
    assert config.num_negatives is None
    with pytest.raises(PygSipError, match="'num_negatives'"):
        PretrainConfig(num_negatives=None, negative_sampling='uniform')
