"""Malformed and hostile inputs to the Trainer: each raises PygSipError naming
the argument and value (or the file and what is wrong) before any work, and
leaves every file of the run folder as it was."""
import math
import os
import pickle

import numpy as np
import pytest
import torch
from train_helpers import make_graph, make_parts, params

from pyg_sip import PygSipError
from pyg_sip.train import BEST, CHECKPOINT, METRICS, Trainer


@pytest.fixture(scope='module')
def graph():
    return make_graph()


# -- arguments -------------------------------------------------------------
BAD_ARGUMENTS = [
    ('grad_clip', 0.0), ('grad_clip', -1.0), ('grad_clip', math.nan), ('grad_clip', math.inf),
    ('grad_clip', '1.0'), ('grad_clip', True),
    ('weight_decay', -0.01), ('weight_decay', math.nan), ('weight_decay', math.inf),
    ('weight_decay', '0'), ('weight_decay', None),
    ('lr', 0.0), ('lr', -1e-3), ('lr', math.nan), ('lr', math.inf), ('lr', '1e-3'),
    ('lr', None), ('lr', True),
    ('max_steps', 0), ('max_steps', -3), ('max_steps', 2.0), ('max_steps', '10'),
    ('max_steps', True),
    ('epochs', 0), ('epochs', 1.5), ('epochs', '1'), ('epochs', False),
    ('warmup_steps', -1), ('warmup_steps', 1.0), ('warmup_steps', 'a'), ('warmup_steps', True),
    ('checkpoint_every', 0), ('checkpoint_every', 2.5), ('checkpoint_every', '5'),
    ('checkpoint_every', True),
    ('log_every', 0), ('log_every', 1.0), ('log_every', None), ('log_every', True),
    ('val_every', 0), ('val_every', 10.0),
    ('patience', 0), ('patience', 1.5),
    ('seed', -1), ('seed', 1.5), ('seed', 's'), ('seed', True),
    ('schedule', 'step'), ('schedule', 3), ('schedule', None),
    ('amp', 'yes'), ('resume', 1), ('progress', None),
    ('val_fn', 3), ('device', 'nope'), ('device', 3.5),
]


@pytest.mark.parametrize('name,value', BAD_ARGUMENTS)
def test_bad_argument(graph, tmp_path, name, value):
    encoder, objective, loader = make_parts(graph)
    rng = torch.get_rng_state()
    with pytest.raises(PygSipError) as info:
        Trainer(encoder, objective, loader, out_dir=tmp_path / 'run', **{name: value})
    message = str(info.value)
    assert name in message
    assert (repr(value) in message) or (str(value) in message), message
    assert torch.equal(torch.get_rng_state(), rng)  # raised before seeding anything
    assert not (tmp_path / 'run').exists()


def test_good_arguments_of_other_types(graph):
    encoder, objective, loader = make_parts(graph)
    trainer = Trainer(encoder, objective, loader, max_steps=np.int64(3), lr=np.float32(1e-3),
                      grad_clip=None, weight_decay=0, seed=np.int32(2), progress=False,
                      device='cpu')
    assert trainer.max_steps == 3 and trainer.seed == 2
    trainer.fit()
    assert trainer.step == 3


@pytest.mark.skipif(torch.cuda.is_available(), reason='CUDA is available here')
def test_cuda_without_cuda(graph):
    with pytest.raises(PygSipError, match="'device' is 'cuda' but CUDA is not available"):
        Trainer(*make_parts(graph), device='cuda')


def test_bad_parts(graph, tmp_path):
    encoder, objective, loader = make_parts(graph)
    with pytest.raises(PygSipError, match="'encoder' must be an nn.Module with pretrain_step"):
        Trainer(torch.nn.Linear(2, 2), objective, loader)
    with pytest.raises(PygSipError, match="'objective' must be an nn.Module"):
        Trainer(encoder, lambda *a: {}, loader)
    with pytest.raises(PygSipError, match="'loader' must have a length"):
        Trainer(encoder, objective, iter(loader))
    with pytest.raises(PygSipError, match='the loader yields no batches'):
        Trainer(encoder, objective, [])
    out = tmp_path / 'a_file'
    out.write_text('x')
    with pytest.raises(PygSipError, match="'out_dir' .*a_file.* exists and is not a folder"):
        Trainer(encoder, objective, loader, out_dir=out)


# -- checkpoints that must not be resumed from ------------------------------
def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def good_run(graph, folder, **kwargs):
    encoder, objective, loader = make_parts(graph, **kwargs)
    Trainer(encoder, objective, loader, max_steps=4, log_every=1, checkpoint_every=2,
            out_dir=folder, progress=False, device='cpu').fit()


def fresh_trainer(graph, folder, **kwargs):
    encoder, objective, loader = make_parts(graph)
    return Trainer(encoder, objective, loader, max_steps=4, log_every=1, out_dir=folder,
                   progress=False, device='cpu', **kwargs)


class Planted:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def corrupt(kind, folder, tmp_path):
    path = folder / CHECKPOINT
    data = path.read_bytes()
    state = torch.load(path, weights_only=True)
    if kind == 'truncated':
        path.write_bytes(data[:len(data) // 2])
    elif kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'random':
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    elif kind == 'hostile':
        torch.save({**state, 'step': Planted(tmp_path / 'marker')}, path)
    elif kind == 'hostile_plain_pickle':
        path.write_bytes(pickle.dumps(Planted(tmp_path / 'marker'), protocol=2))
    elif kind == 'not_a_dict':
        torch.save([1, 2, 3], path)
    elif kind == 'missing_keys':
        torch.save({'module': state['module'], 'step': 2}, path)
    elif kind == 'step_beyond_max':
        torch.save({**state, 'step': 99}, path)
    elif kind == 'step_not_int':
        torch.save({**state, 'step': '2'}, path)
    elif kind == 'module_not_tensors':
        torch.save({**state, 'module': {'encoder.w': 1.0}}, path)
    elif kind == 'scheduler_mismatch':
        torch.save({**state, 'scheduler': {**state['scheduler'], 'last_epoch': 3}}, path)
    elif kind == 'optimizer_not_a_dict':
        torch.save({**state, 'optimizer': [0]}, path)
    elif kind == 'optimizer_shapes':
        optimizer = state['optimizer']
        first = next(iter(optimizer['state']))
        bad = {**optimizer['state'][first], 'exp_avg': torch.zeros(1, 1, 1)}
        torch.save({**state, 'optimizer': {**optimizer, 'state': {
            **optimizer['state'], first: bad}}}, path)
    elif kind == 'directory':
        path.unlink()
        path.mkdir()
    return path


CORRUPTIONS = {
    'truncated': 'empty or truncated',
    'empty': 'empty or truncated',
    'random': 'not a readable checkpoint: not a torch.save file',
    'hostile': r'objects other than tensors .*\(io.open\), refused without',
    'hostile_plain_pickle': r'objects other than tensors .*\(io.open\), refused without',
    'not_a_dict': 'is not a Trainer checkpoint',
    'missing_keys': r"missing \['optimizer', 'scheduler', 'best', 'bad_validations'\]",
    'step_beyond_max': r'step 99 is not an integer in \[0, max_steps=4\]',
    'step_not_int': r"step '2' is not an integer",
    'module_not_tensors': 'module is not a state dict of tensors',
    'scheduler_mismatch': 'last_epoch 3.* does not match step 4',
    'optimizer_not_a_dict': 'optimizer is not an optimizer state dict',
    'optimizer_shapes': r'optimizer exp_avg of parameter 0 is \[1, 1, 1\]',
    'directory': 'cannot read',
}


@pytest.mark.filterwarnings('ignore:Detected pickle protocol')
@pytest.mark.parametrize('kind', sorted(CORRUPTIONS))
def test_bad_checkpoint_is_refused_and_kept(graph, tmp_path, kind):
    folder = tmp_path / 'run'
    good_run(graph, folder)
    path = corrupt(kind, folder, tmp_path)
    stale = folder / '.checkpoint.pt.999999999.abcd.tmp'  # would be cleaned by a real start
    stale.write_bytes(b'half')
    before = snapshot(folder) if kind != 'directory' else sorted(os.listdir(folder))
    trainer = fresh_trainer(graph, folder)
    start = params(trainer.module)
    with pytest.raises(PygSipError, match=CORRUPTIONS[kind]) as info:
        trainer.fit()
    assert str(path) in str(info.value)
    assert 'weights_only=False' not in str(info.value)  # never advise running the file
    assert not (tmp_path / 'marker').exists()
    after = snapshot(folder) if kind != 'directory' else sorted(os.listdir(folder))
    assert after == before
    for key, value in params(trainer.module).items():
        assert torch.equal(value, start[key]), key
    assert trainer.step == 0


def test_other_architecture_checkpoint(graph, tmp_path):
    folder = tmp_path / 'run'
    good_run(graph, folder, hidden=48)
    before = snapshot(folder)
    with pytest.raises(PygSipError, match=r"was written for another architecture \(module: "
                       r"encoder\..*is \[48, 16\] there, \[32, 16\] here") as info:
        fresh_trainer(graph, folder).fit()
    assert str(folder / CHECKPOINT) in str(info.value)
    assert snapshot(folder) == before


def test_missing_or_bad_best_weights(graph, tmp_path):
    folder = tmp_path / 'run'
    encoder, objective, loader = make_parts(graph)
    Trainer(encoder, objective, loader, max_steps=4, val_fn=lambda e: 0.5, val_every=2,
            out_dir=folder, progress=False, device='cpu').fit()
    (folder / BEST).write_bytes(b'\x00' * 10)
    before = snapshot(folder)
    with pytest.raises(PygSipError, match='best.pt.* is not a readable checkpoint'):
        fresh_trainer(graph, folder, val_fn=lambda e: 0.5).fit()
    assert snapshot(folder) == before
    (folder / BEST).unlink()
    with pytest.raises(PygSipError, match="records a best validation score but '.*best.pt' "
                       'is missing'):
        fresh_trainer(graph, folder, val_fn=lambda e: 0.5).fit()


BAD_METRICS = {
    'garbage_line': (b'{"step": 1, "loss": 1.0}\nnot json\n{"step": 2}\n',
                     r'metrics.jsonl:2: not a JSON line'),
    'no_step': (b'{"step": 1}\n{"loss": 1.0}\n', r"metrics.jsonl:2: a metrics record needs an "
                r"integer 'step'"),
    'step_is_text': (b'{"step": "1"}\n', r"metrics.jsonl:1: .*integer 'step'"),
    'not_an_object': (b'[1, 2]\n{"step": 1}\n', r"metrics.jsonl:1: .*integer 'step'"),
    'not_utf8': (b'{"step": 1}\n{"step": 2, "x": "\xff\xfe"}\n',
                 r'metrics.jsonl:2: not UTF-8 text'),
}


@pytest.mark.parametrize('kind', sorted(BAD_METRICS))
def test_bad_metrics_log_is_refused_and_kept(graph, tmp_path, kind):
    folder = tmp_path / 'run'
    good_run(graph, folder)
    data, message = BAD_METRICS[kind]
    (folder / METRICS).write_bytes(data)
    before = snapshot(folder)
    with pytest.raises(PygSipError, match=message):
        fresh_trainer(graph, folder).fit()
    assert snapshot(folder) == before


# -- non-finite values ------------------------------------------------------
class Poisoned(torch.nn.Module):
    """Wraps an encoder; from step ``at`` on its embeddings (or its per-sample
    loss) are NaN/inf."""

    def __init__(self, encoder, at, where='z', value=math.nan):
        super().__init__()
        self.encoder, self.at, self.where, self.value, self.calls = encoder, at, where, value, 0

    def pretrain_step(self, batch, generator=None):
        z, sample_loss = self.encoder.pretrain_step(batch, generator=generator)
        if self.calls >= self.at:
            if self.where == 'z':
                z = z.clone()
                z[0, 0] = self.value
            else:
                sample_loss = sample_loss * self.value
        self.calls += 1
        return z, sample_loss


class IgnoresEmbeddings(torch.nn.Module):
    """A structure loss that stays finite whatever the embeddings hold."""

    def forward(self, z, pos_index, neg_index):
        return torch.nan_to_num(z).pow(2).mean()


@pytest.mark.parametrize('where,value,objective,message', [
    ('z', math.nan, None, 'non-finite embeddings at step 3'),
    ('z', math.inf, None, 'non-finite embeddings at step 3'),
    ('z', math.nan, 'finite_loss', 'non-finite embeddings at step 3'),
    ('sample', math.nan, None, r'non-finite loss at step 3 \(loss nan\)'),
    ('sample', math.inf, None, r'non-finite loss at step 3 \(loss inf\)'),
])
def test_non_finite_stops_the_run(graph, tmp_path, where, value, objective, message):
    from pyg_sip.objective import SIPObjective
    encoder, sip, loader = make_parts(graph)
    if objective == 'finite_loss':
        sip = SIPObjective(IgnoresEmbeddings(), lam=0.5)
    model = Poisoned(encoder, at=3, where=where, value=value)
    trainer = Trainer(model, sip, loader, max_steps=10, log_every=1, checkpoint_every=2,
                      out_dir=tmp_path, progress=False, device='cpu')
    original = trainer._train_step
    seen = {}

    def spy(step, batch):
        if step == 3:
            seen['before'] = params(trainer.module)
        return original(step, batch)

    trainer._train_step = spy
    with pytest.raises(PygSipError, match=message) as info:
        trainer.fit()
    assert 'the parameters were not updated and the last checkpoint is kept' in str(info.value)
    for key, value_ in params(trainer.module).items():
        assert torch.equal(value_, seen['before'][key]), key
    assert torch.load(tmp_path / CHECKPOINT, weights_only=True)['step'] == 2
    assert [r['step'] for r in trainer.history] == [1, 2, 3]


def test_non_finite_gradient_stops_the_run(graph, tmp_path):
    encoder, objective, loader = make_parts(graph)

    class HugeGradient(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def pretrain_step(self, batch, generator=None):
            z, sample_loss = self.encoder.pretrain_step(batch, generator=generator)
            # sqrt at 0: a finite value (0) whose gradient is inf * 0 = NaN.
            return z, sample_loss + (z.sum() * 0.0).sqrt()

    trainer = Trainer(HugeGradient(), objective, loader, max_steps=3, progress=False,
                      device='cpu')
    before = params(trainer.module)
    with pytest.raises(PygSipError, match='non-finite gradient norm .* at step 0'):
        trainer.fit()
    for key, value in params(trainer.module).items():
        assert torch.equal(value, before[key]), key


def test_planted_payload_is_live(tmp_path):
    """The hostile files above would write the marker if anything unpickled them."""
    pickle.loads(pickle.dumps(Planted(tmp_path / 'marker'), protocol=2))
    assert (tmp_path / 'marker').exists()
