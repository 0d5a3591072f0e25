import dataclasses
import json
from collections import Counter

import pytest

from pyg_sip.cli import main
from pyg_sip.datasets import GraphletTopology, NoisyCliques
from pyg_sip.pipeline import RESULT_KEYS

from study import synthetic
from study.synthetic import Job, make_jobs, run_job

KEYS = set(RESULT_KEYS)


pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def quick(tmp_path_factory, bench_dir):
    out = tmp_path_factory.mktemp('bench') / 'synthetic.json'
    png = out.with_suffix('.png')
    code = main(['bench', *bench_dir, 'synthetic', '--quick', '--no-progress', '--output',
                 str(out), '--plot', str(png)])
    return code, json.loads(out.read_text()), png


def row(rows, dataset, method, metric):
    found = [r for r in rows if (r['dataset'], r['method'], r['metric']) ==
             (dataset, method, metric)]
    assert len(found) == 1, (dataset, method, metric)
    return found[0]


def test_quick_sipt_beats_lm_only_on_clean_cliques(quick):
    code, rows, _ = quick
    assert code == 0
    sipt = row(rows, 'cliques_p0', 'sipt', 'auroc')
    lm = row(rows, 'cliques_p0', 'lm_only', 'auroc')
    assert sipt['lambda'] == 0.1 and lm['lambda'] == 0.0
    assert sipt['mean'] > lm['mean']


def test_quick_rows_follow_the_schema(quick):
    _, rows, png = quick
    assert rows and all(set(r) == KEYS for r in rows)
    assert {r['method'] for r in rows} == {'lm_only', 'sipt', 'graph'}
    for r in rows:
        assert r['n_seeds'] == 1 and r['std'] == 0.0
        if r['method'] == 'graph':
            assert r['lambda'] is None and r['seconds'] is None
        elif r['metric'] != 'auroc_gain':
            assert 0.0 <= r['mean'] <= 1.0 and r['seconds'] > 0.0
    for label in synthetic.LABEL_SETS:
        for method in ('lm_only', 'sipt'):
            row(rows, f'topology_structural/{label}', method, 'auroc')
    # The gain of one seed is the difference of the two AUROC rows.
    for dataset in ('cliques_p0', 'topology_structural/ego'):
        gain = row(rows, dataset, 'sipt', 'auroc_gain')['mean']
        assert gain == pytest.approx(row(rows, dataset, 'sipt', 'auroc')['mean'] -
                                     row(rows, dataset, 'lm_only', 'auroc')['mean'])
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def brute_force_homophily(edge_index, y):
    pairs = {(int(u), int(v)) for u, v in edge_index.t().tolist() if u != v}
    pairs |= {(v, u) for u, v in pairs}
    return sum(int(y[u]) == int(y[v]) for u, v in pairs) / len(pairs)


def test_quick_smoothness_rows_match_a_brute_force_count(quick):
    _, rows, _ = quick
    assert row(rows, 'cliques_p0', 'graph', 'edge_homophily')['mean'] == pytest.approx(1.0)
    data = GraphletTopology(align_to='structural', seed=0)
    for label in synthetic.LABEL_SETS:
        expected = brute_force_homophily(data.graph.edge_index, data.label_sets[label])
        got = row(rows, f'topology_structural/{label}', 'graph', 'edge_homophily')['mean']
        assert got == pytest.approx(expected)


def test_full_plan_pairs_every_sipt_run_with_an_lm_only_run():
    jobs = make_jobs(range(3))
    # 5 noise levels + 3 extra sweep λ + 4 surfaces + 4 topology variants.
    assert len(jobs) == 3 * (5 * 2 + 3 + 4 * 2 + 4 * 2)
    arms = Counter((j.dataset, j.seed, j.lam) for j in jobs)
    for (dataset, seed, lam), count in arms.items():
        assert count == 1
        if lam == 0.1:
            assert (dataset, seed, 0.0) in arms
    assert {j.lam for j in jobs if j.dataset == 'cliques_p0'} == {0.0, 0.01, 0.1, 0.5, 0.9}
    assert {j.dataset for j in jobs if j.suite == 'manifolds'} == {
        'manifold_plane', 'manifold_sphere', 'manifold_torus', 'manifold_mobius'}
    for job in jobs:  # one encoder and schedule per dataset, whatever λ
        manifold = job.suite == 'manifolds'
        assert job.config == (synthetic.MANIFOLD_CONFIG if manifold else synthetic.BENCH_CONFIG)
    assert {j.kwargs for j in jobs if j.dataset.startswith('cliques')} == {
        (('noise', p), ) for p in synthetic.NOISE_LEVELS}


def test_runs_are_a_function_of_the_seed():
    config = dataclasses.replace(synthetic.BENCH_CONFIG, steps=3)
    job = Job('cliques', 'cliques_p0.1', 'cliques', (('noise', 0.1), ), 0.1, 5, config)
    first, second = run_job(job)[0], run_job(job)[0]
    assert first[0]['metrics'] == second[0]['metrics']
    assert job.build().graph.edge_index.equal(NoisyCliques(noise=0.1, seed=5).graph.edge_index)


def test_comparison_table_shows_the_authors_numbers():
    rows = [{'dataset': 'topology_structural_s0.3/structural', 'method': m, 'lambda': lam,
             'metric': 'auroc', 'mean': v, 'std': 0.0, 'n_seeds': 1, 'seconds': 1.0}
            for m, lam, v in (('lm_only', 0.0, 0.9), ('sipt', 0.1, 0.8))]
    table = synthetic.comparison_table(rows)
    assert '| 0.900 ± 0.000 | 0.800 ± 0.000 |' in table
    assert '| 0.905 | 0.790 |' in table


def test_bad_arguments_are_reported(capsys, bench_dir):
    assert main(['bench', 'synthetic', '--seeds', '0', *bench_dir]) == 2
    err = capsys.readouterr().err
    assert err == 'pyg-sip: error: --seeds must be at least 1, got 0\n'


@pytest.mark.slow
def test_worker_processes_give_the_same_runs():
    config = dataclasses.replace(synthetic.BENCH_CONFIG, steps=3)
    jobs = [Job('cliques', 'cliques_p0', 'cliques', (('noise', 0.0), ), lam, 0, config)
            for lam in (0.0, 0.1)]
    serial = synthetic.run_jobs(jobs, num_workers=1, progress=False)[0]
    parallel = synthetic.run_jobs(jobs, num_workers=2, progress=False)[0]
    assert [r['metrics'] for r in serial] == [r['metrics'] for r in parallel]


def test_demo_rows_equal_the_benchmark_rows():
    from pyg_sip.pipeline.demo import run_demo
    from pyg_sip.pipeline.results import aggregate
    config = dataclasses.replace(synthetic.BENCH_CONFIG, steps=3)
    jobs = [Job('cliques', 'cliques_p0.05', 'cliques', (('noise', 0.05), ), lam, 2, config)
            for lam in synthetic.LAMBDAS]
    bench = aggregate(synthetic.run_jobs(jobs, progress=False)[0])
    demo = run_demo(seeds=[2], noise=0.05, config=config, progress=False)
    strip = [{k: v for k, v in r.items() if k != 'seconds'} for r in bench]
    assert strip == [{k: v for k, v in r.items() if k != 'seconds'} for r in demo]
