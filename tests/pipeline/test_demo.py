import dataclasses
import json

import pytest

from pyg_sip.cli import main
from pyg_sip.pipeline import RESULT_KEYS
from pyg_sip.pipeline.demo import DEMO_CONFIG, run_demo

KEYS = set(RESULT_KEYS)


pytestmark = pytest.mark.usefixtures('one_thread')


def test_demo_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / 'demo.json'
    assert main(['demo', '--seeds', '2', '--steps', '3', '--no-progress',
                 '--output', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'lm_only' in printed and 'sipt' in printed and f'wrote 4 rows to {out}' in printed
    rows = json.loads(out.read_text())
    assert all(set(row) == KEYS for row in rows)
    assert {(r['method'], r['lambda'], r['metric']) for r in rows} == {
        ('lm_only', 0.0, 'accuracy'), ('lm_only', 0.0, 'auroc'),
        ('sipt', 0.1, 'accuracy'), ('sipt', 0.1, 'auroc')}
    for row in rows:
        assert row['dataset'] == 'cliques_p0' and row['n_seeds'] == 2
        assert 0.0 <= row['mean'] <= 1.0 and row['std'] >= 0.0 and row['seconds'] > 0.0


def test_demo_noise_flag_names_the_dataset(tmp_path):
    out = tmp_path / 'demo.json'
    assert main(['demo', '--seeds', '1', '--steps', '1', '--noise', '0.05', '--no-progress',
                 '--output', str(out)]) == 0
    rows = json.loads(out.read_text())
    assert {r['dataset'] for r in rows} == {'cliques_p0.05'}
    assert all(r['n_seeds'] == 1 and r['std'] == 0.0 for r in rows)


def test_demo_is_a_function_of_the_seed():
    config = dataclasses.replace(DEMO_CONFIG, steps=4)
    first, second = (run_demo(seeds=[1], config=config, progress=False) for _ in range(2))
    strip = [{k: v for k, v in r.items() if k != 'seconds'} for r in first]
    assert strip == [{k: v for k, v in r.items() if k != 'seconds'} for r in second]


@pytest.mark.slow
def test_demo_sipt_beats_lm_only():
    rows = run_demo(seeds=[0], progress=False)
    auroc = {r['method']: r['mean'] for r in rows if r['metric'] == 'auroc'}
    assert auroc['sipt'] >= 0.9
    assert auroc['sipt'] > auroc['lm_only'] + 0.2
