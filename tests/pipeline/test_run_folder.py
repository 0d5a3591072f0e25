import hashlib
import json

import pytest
import torch

import pyg_sip
from pyg_sip.data import load_tokenizer
from pyg_sip.datasets import get_adapter
from pyg_sip.errors import PygSipError
from pyg_sip.eval import embed
from pyg_sip.pipeline import PretrainConfig, RunConfig, pretrain
from pyg_sip.pipeline.run import RUN_FILES, load_run
from pyg_sip.pipeline.workflow import pretrain_run

TINY = dict(hidden_channels=16, out_channels=8, num_layers=1, num_heads=2, max_length=32,
            steps=4, batch_size=8, num_positives=2, num_negatives=4, warmup_steps=1,
            checkpoint_every=2)
CLIQUES = {'kind': 'cliques', 'num_cliques': 3, 'clique_size': 6, 'vocab_size': 40}


def tiny_config(**changes):
    values = {'data': CLIQUES, 'lam': 0.5, 'seed': 3, **TINY, **changes}
    return RunConfig.from_dict(values)


def snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir())}


def test_run_folder_round_trip(tmp_path):
    config = tiny_config()
    run = tmp_path / 'run'
    assert pretrain_run(config, run, progress=False) == 'new'
    assert {'config.json', 'encoder.json', 'tokenizer.json', 'data.json', 'checkpoint.pt',
            'metrics.jsonl', 'encoder.pt'} <= {p.name for p in run.iterdir()}
    assert not list(run.glob('.*.tmp'))
    saved = json.loads((run / 'config.json').read_text())
    assert saved['data'] == CLIQUES and saved['lam'] == 0.5 and saved['steps'] == 4
    assert RunConfig.from_file(run / 'config.json') == config

    # An independent in-process run with the same graph, config and seed.
    graph, _ = get_adapter('cliques').build(**{k: v for k, v in CLIQUES.items() if k != 'kind'})
    reference = pretrain(graph, 0.5, config.pretrain, seed=3)
    encoder, tokenizer = pyg_sip.load_encoder(run)
    assert tokenizer == graph.tokenizer
    assert tokenizer == load_tokenizer(run / 'tokenizer.json')
    for key, value in reference.state_dict().items():
        assert torch.equal(value, encoder.state_dict()[key]), key
    expected = embed(reference, graph, progress=False)
    assert torch.equal(embed(encoder, graph, progress=False), expected)


def test_finished_run_is_left_untouched(tmp_path):
    run = tmp_path / 'run'
    pretrain_run(tiny_config(), run, progress=False)
    before = snapshot(run)
    mtimes = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    assert pretrain_run(tiny_config(), run, progress=False) == 'finished'
    # checkpoint_every changes how a run is written, not what it computes
    assert pretrain_run(tiny_config(checkpoint_every=1), run, progress=False) == 'finished'
    assert snapshot(run) == before
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == mtimes


def test_other_config_refused_byte_identical_then_overwrite(tmp_path):
    run = tmp_path / 'run'
    pretrain_run(tiny_config(), run, progress=False)
    (run / 'notes.txt').write_text('mine')
    before = snapshot(run)
    with pytest.raises(PygSipError) as e:
        pretrain_run(tiny_config(out_channels=4, lam=0.25), run, progress=False)
    assert 'out_channels: 8 -> 4' in str(e.value) and 'lam: 0.5 -> 0.25' in str(e.value)
    assert '--overwrite' in str(e.value)
    assert snapshot(run) == before

    assert pretrain_run(tiny_config(out_channels=4), run, overwrite=True,
                        progress=False) == 'overwrite'
    assert (run / 'notes.txt').read_text() == 'mine'  # only run files are replaced
    encoder, _ = pyg_sip.load_encoder(run)
    assert encoder.out_channels == 4
    assert json.loads((run / 'config.json').read_text())['out_channels'] == 4
    steps = [json.loads(line)['step'] for line in (run / 'metrics.jsonl').read_text().splitlines()]
    assert len(steps) == len(set(steps))  # the old run's metrics are gone


def test_bad_folders_refused_before_writing(tmp_path):
    (tmp_path / 'file').write_text('x')
    with pytest.raises(PygSipError, match='is a file'):
        pretrain_run(tiny_config(), tmp_path / 'file', progress=False)
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'checkpoint.pt').write_bytes(b'not mine')
    with pytest.raises(PygSipError, match='no config.json'):
        pretrain_run(tiny_config(), foreign, progress=False)
    assert [p.name for p in foreign.iterdir()] == ['checkpoint.pt']
    with pytest.raises(PygSipError, match="unknown dataset kind 'nope'"):
        pretrain_run(tiny_config(data={'kind': 'nope'}), tmp_path / 'new', progress=False)
    with pytest.raises(PygSipError, match='num-cliques'):
        pretrain_run(tiny_config(data={'kind': 'cliques', 'num_cliques': 'x'}),
                     tmp_path / 'new', progress=False)
    assert not (tmp_path / 'new').exists()


def test_stale_temp_files_cleaned_and_resume(tmp_path):
    run = tmp_path / 'run'
    config = tiny_config()
    pretrain_run(config, run, progress=False)
    reference = {k: v.clone() for k, v in load_run(run).encoder.state_dict().items()}
    # An unfinished run: no encoder.pt, a stale temp file of a killed writer.
    (run / 'encoder.pt').unlink()
    stale = run / '.checkpoint.pt.999999999.abcd1234.tmp'
    stale.write_bytes(b'half')
    assert pretrain_run(config, run, progress=False) == 'resume'
    assert not stale.exists()
    for key, value in load_run(run).encoder.state_dict().items():
        assert torch.equal(value, reference[key]), key


def test_load_errors_name_the_file(tmp_path):
    run = tmp_path / 'run'
    with pytest.raises(PygSipError, match='no such run folder'):
        load_run(run)
    pretrain_run(tiny_config(), run, progress=False)
    weights = run / 'encoder.pt'
    good = weights.read_bytes()
    weights.write_bytes(good[:100])
    with pytest.raises(PygSipError, match="encoder.pt' is not a readable weights file"):
        load_run(run)
    torch.save({'lin.weight': torch.zeros(2, 2)}, weights)
    with pytest.raises(PygSipError, match='encoder.pt: the weights do not fit'):
        load_run(run)
    weights.write_bytes(good)
    (run / 'encoder.json').write_text('{"encoder": "sequence"')
    with pytest.raises(PygSipError, match='encoder.json: not a readable JSON'):
        load_run(run)
    (run / 'encoder.json').unlink()
    with pytest.raises(PygSipError, match='encoder.json: missing'):
        load_run(run)


def test_run_files_are_all_known():
    assert set(RUN_FILES) >= {'config.json', 'encoder.pt', 'checkpoint.pt', 'metrics.jsonl'}
    assert PretrainConfig().checkpoint_every == 50
