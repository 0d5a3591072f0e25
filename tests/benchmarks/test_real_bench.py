import argparse
import json
import math

import pytest
import torch

from pyg_sip.cli import main
from pyg_sip.pipeline import RESULT_KEYS

from study import real
from study.real import split_labelled, sweep

KEYS = set(RESULT_KEYS)


pytestmark = pytest.mark.usefixtures('one_thread')


def _args(**kwargs):
    return argparse.Namespace(**{'verbose': False, 'quick': False, 'seeds': None, **kwargs})


def _check_rows(rows, datasets, methods):
    assert rows and all(set(r) == KEYS for r in rows)
    assert {r['dataset'] for r in rows} == set(datasets)
    for dataset in datasets:
        got = {r['method'] for r in rows if r['dataset'] == dataset}
        assert got == set(methods[dataset]), dataset
    for r in rows:
        assert math.isfinite(r['mean']) and r['std'] == 0.0 and r['n_seeds'] == 1
        assert r['seconds'] > 0
        if r['method'] == 'lm_only':
            assert r['lambda'] == 0.0
        elif r['method'] == 'sipt':
            assert r['lambda'] > 0
        else:
            assert r['lambda'] is None


def test_quick_cora_through_the_cli(tmp_path, bench_dir):
    out = tmp_path / 'real.json'
    assert main(['bench', 'real', '--quick', '--datasets', 'cora', '--output', str(out),
                 *bench_dir]) == 0
    rows = json.loads(out.read_text())
    _check_rows(rows, ['cora'], {'cora': ['no_pretrain', 'lm_only', 'sipt', 'gcn', 'mlp']})
    assert {r['metric'] for r in rows} == {'accuracy', 'val_accuracy'}
    assert all(0.0 <= r['mean'] <= 1.0 for r in rows)


def _script():
    """benchmarks/real.py, the script the committed results come from."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / 'benchmarks' / 'real.py'
    spec = importlib.util.spec_from_file_location('real_benchmark_script', path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_script_update_replaces_only_the_datasets_run(tmp_path):
    out = tmp_path / 'real.json'
    stale = {'dataset': 'citeseer', 'method': 'gcn', 'lambda': None, 'metric': 'accuracy',
             'mean': -1.0, 'std': 0.0, 'n_seeds': 1, 'seconds': 1.0}
    other = {**stale, 'dataset': 'bbbp', 'method': 'sipt', 'lambda': 0.1}
    out.write_text(json.dumps([other, stale]))
    assert _script().main(['--quick', '--datasets', 'citeseer', '--output', str(out),
                           '--update']) == 0
    rows = json.loads(out.read_text())
    assert rows[-1] == other and stale not in rows
    _check_rows(rows[:-1], ['citeseer'],
                {'citeseer': ['no_pretrain', 'lm_only', 'sipt', 'gcn', 'mlp']})


@pytest.mark.slow
def test_quick_every_dataset(tmp_path):
    script = _script()
    out = tmp_path / 'real.json'
    assert script.main(['--quick', '--output', str(out)]) == 0
    rows = json.loads(out.read_text())
    three = ['no_pretrain', 'lm_only', 'sipt']
    methods = {'cora': three + ['gcn', 'mlp'], 'citeseer': three + ['gcn', 'mlp'],
               'cane-cora/transformer': three, 'shs27k-links': three, 'deeploc': three,
               'bbbp': three, 'bace': three}
    from study.real_text import minilm_path
    if minilm_path() is not None:
        methods['cane-cora/minilm'] = three
    _check_rows(rows, list(methods), methods)
    metrics = {(r['dataset'], r['metric']) for r in rows}
    assert {('shs27k-links', 'mrr'), ('shs27k-links', 'hits@10'), ('deeploc', 'accuracy'),
            ('bbbp', 'rocauc'), ('bace', 'rocauc')} <= metrics


def test_sweep_selects_lambda_on_validation_only():
    calls = []

    def evaluate(lam, seed):
        calls.append((lam, seed))
        # test favours 0.5, validation favours 0.9 (and a second task 0.5)
        val = {None: 0.1, 0.0: 0.2, 0.5: 0.3, 0.9: 0.4}[lam] + 0.01 * seed
        test = {None: 0.1, 0.0: 0.2, 0.5: 0.9, 0.9: 0.5}[lam]
        return {'a': {'acc': test, 'val_acc': val},
                'b': {'acc': test, 'val_acc': 1.0 - val if lam in (0.5, 0.9) else val}}

    runs = sweep(evaluate, {'a': 'val_acc', 'b': 'val_acc'}, (0.5, 0.9), 5, _args(), 'x')
    # no_pretrain and lm_only: every seed; the grid: seeds 0-2; the chosen
    # lambdas (0.9 for a, 0.5 for b): all 5 seeds; each (lam, seed) once.
    assert len(calls) == len(set(calls))
    assert sorted(calls, key=str) == sorted(
        [(lam, s) for lam in (None, 0.0, 0.5, 0.9) for s in range(5)], key=str)
    chosen = {(r['dataset'], r['method']): r['lambda'] for r in runs}
    assert chosen[('a', 'sipt')] == 0.9 and chosen[('b', 'sipt')] == 0.5
    assert chosen[('a', 'lm_only')] == 0.0 and chosen[('a', 'no_pretrain')] is None
    assert len(runs) == 2 * 3 * 5
    assert all(r['metrics'] in ({'acc': 0.5, 'val_acc': 0.4 + 0.01 * r['seed']},)
               for r in runs if (r['dataset'], r['method']) == ('a', 'sipt'))


def test_sweep_with_fewer_seeds_than_the_selection():
    def evaluate(lam, seed):
        return {'t': {'val': 0.0 if lam is None else lam}}

    runs = sweep(evaluate, {'t': 'val'}, (0.1, 0.2), 2, _args(), 'x')
    sipt = [r for r in runs if r['method'] == 'sipt']
    assert [r['seed'] for r in sipt] == [0, 1] and {r['lambda'] for r in sipt} == {0.2}


def test_split_labelled():
    y = torch.tensor([0] * 30 + [1] * 25 + [2] * 40 + [-1] * 5)
    y = y[torch.randperm(y.numel(), generator=torch.Generator().manual_seed(3))]
    train, val, test = split_labelled(y, per_class=4, num_val=20, seed=1)
    assert torch.bincount(y[train], minlength=3).tolist() == [4, 4, 4]
    assert val.numel() == 20 and test.numel() == 95 - 12 - 20
    ids = torch.cat([train, val, test]).tolist()
    assert len(set(ids)) == len(ids) and all(int(y[i]) >= 0 for i in ids)
    again = split_labelled(y, per_class=4, num_val=20, seed=1)
    assert all(torch.equal(a, b) for a, b in zip((train, val, test), again))


def test_held_out_proteins_and_their_queries():
    from study.real_proteins import hold_out_proteins, queries
    train, val, test = hold_out_proteins(100, test=0.1, val=0.05, seed=0)
    assert (train.numel(), val.numel(), test.numel()) == (85, 5, 10)
    assert sorted(torch.cat([train, val, test]).tolist()) == list(range(100))
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    got = queries(edge_index, torch.tensor([1, 4]))
    assert sorted(map(tuple, got.t().tolist())) == [(1, 0), (1, 2), (4, 3)]


def test_datasets_choice_is_validated():
    parser = argparse.ArgumentParser()
    real.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(['--datasets', 'pubmed'])
    assert parser.parse_args([]).datasets == list(real.FAMILIES)
