import shutil
from pathlib import Path

import pytest

from pyg_sip.cli import main
from pyg_sip.errors import PygSipError

from study import real


def test_bench_finds_the_scripts_from_inside_the_checkout(monkeypatch, capsys, bench_dir):
    monkeypatch.chdir(bench_dir[1] + '/study')
    with pytest.raises(SystemExit) as e:
        main(['bench', 'synthetic', '--help'])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert 'usage: pyg-sip bench synthetic' in out and '--quick' in out and '--output' in out


def test_bench_outside_a_checkout_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(['bench', 'synthetic', '--quick']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('pyg-sip: error: no benchmarks/synthetic.py')
    assert '--benchmarks-dir' in err
    assert main(['bench', '--benchmarks-dir', str(tmp_path), 'real', '--quick']) == 2
    assert f'--benchmarks-dir {tmp_path}: no real.py there' in capsys.readouterr().err


def test_bench_refuses_an_unwritable_output_before_running(capsys, tmp_path, bench_dir):
    assert main(['bench', 'synthetic', '--quick', '--output', str(tmp_path), *bench_dir]) == 2
    assert 'is a folder' in capsys.readouterr().err
    blocker = tmp_path / 'file'
    blocker.write_text('')
    assert main(['bench', 'real', '--quick', '--output', str(blocker / 'rows.json'),
                 *bench_dir]) == 2
    assert 'is a file, not a folder' in capsys.readouterr().err


def test_missing_root_is_a_user_error(capsys, tmp_path, bench_dir):
    assert main(['bench', 'real', '--quick', '--datasets', 'cora', '--root',
                 str(tmp_path / 'nowhere'), *bench_dir]) == 2
    assert 'no such folder' in capsys.readouterr().err


def test_default_root_is_the_checkout_never_an_installed_package(monkeypatch, tmp_path):
    shipped = real.default_root()
    assert real.is_datasets_root(shipped)
    assert shipped == Path(real.__file__).resolve().parents[2] / 'datasets'
    # As if the study code lay in site-packages: nothing beside it, so the
    # data are found only above the current folder, or not at all.
    monkeypatch.setattr(real, '__file__', str(tmp_path / 'site-packages' / 'study' / 'real.py'))
    monkeypatch.delenv(real.DATASETS_ENV, raising=False)
    monkeypatch.chdir(shipped / 'planetoid')
    assert real.default_root() == shipped
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PygSipError, match='--root DIR or set \\$PYG_SIP_DATASETS'):
        real.default_root()
    copy = tmp_path / 'data'
    for name in real.SHIPPED:
        (copy / name).mkdir(parents=True)
    monkeypatch.setenv(real.DATASETS_ENV, str(copy))
    assert real.default_root() == copy
    shutil.rmtree(copy / 'planetoid')
    with pytest.raises(PygSipError, match='PYG_SIP_DATASETS=.* is not the shipped'):
        real.default_root()
