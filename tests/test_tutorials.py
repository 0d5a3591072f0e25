"""Executes every notebook in tutorials/ end to end at a small size
(``PYG_SIP_TUTORIAL_STEPS``), in a temporary working directory."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Optional

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


def _execute_all(tmp_path_factory, steps: Optional[int]) -> dict:
    """Every notebook, executed once with ``PYG_SIP_TUTORIAL_STEPS=steps``
    (``None``: the notebook's own default)."""
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
        for path in NOTEBOOKS:
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
    nb = _execute_all(tmp_path_factory, None)['01_quickstart.ipynb']
    methods = _tagged_json(nb, 'results')['methods']
    assert methods['sipt']['knn']['accuracy'] > methods['lm_only']['knn']['accuracy']
    assert methods['sipt']['alignment']['auroc'] > methods['lm_only']['alignment']['auroc']
