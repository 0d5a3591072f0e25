import json

import pytest
import torch

from pyg_sip.cli import build_parser, main
from pyg_sip.data import SampleGraph, save_graph


def make_graph(n=40, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    row, col = torch.randint(0, n, (2, 8 * n), generator=gen)
    keep = (y[row] == y[col]) & (row != col)
    x = torch.randn(n, 8, generator=gen) + y.unsqueeze(1).float()
    return SampleGraph(x=x, edge_index=torch.stack([row[keep], col[keep]]), y=y)


def test_help_everywhere(capsys):
    for argv in (['--help'], ['demo', '--help'], ['pretrain', '--help'],
                 ['evaluate', '--help']):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        assert 'usage: pyg-sip' in capsys.readouterr().out


def test_pretrain_then_evaluate(tmp_path, capsys):
    graph_path = save_graph(make_graph(), tmp_path / 'g.pt')
    config = tmp_path / 'config.json'
    config.write_text(json.dumps({'hidden_channels': 16, 'out_channels': 8, 'batch_size': 8}))
    run = tmp_path / 'run'
    assert main(['pretrain', '--graph', str(graph_path), '--out', str(run), '--config',
                 str(config), '--steps', '6', '--lam', '0.5', '--no-progress']) == 0
    saved = json.loads((run / 'config.json').read_text())
    assert saved['steps'] == 6 and saved['hidden_channels'] == 16  # flag over file
    assert (run / 'encoder.pt').exists() and (run / 'checkpoint.pt').exists()
    assert (run / 'metrics.jsonl').read_text().strip()

    out = tmp_path / 'rows.json'
    assert main(['evaluate', '--graph', str(graph_path), '--checkpoint', str(run),
                 '--output', str(out), '--no-progress']) == 0
    rows = json.loads(out.read_text())
    metrics = {r['metric']: r['mean'] for r in rows}
    assert {'accuracy', 'auroc', 'alignment_auroc', 'smoothness_edge_homophily'} <= set(metrics)
    assert all(set(r) == {'dataset', 'method', 'lambda', 'metric', 'mean', 'std', 'n_seeds',
                          'seconds'} for r in rows)
    assert 0.0 <= metrics['auroc'] <= 1.0
    # Edge homophily of these labels is 1 by construction.
    assert metrics['smoothness_edge_homophily'] == pytest.approx(1.0)


def test_user_errors_exit_2(tmp_path, capsys):
    assert main(['pretrain', '--graph', str(tmp_path / 'missing.pt'), '--out',
                 str(tmp_path / 'r')]) == 2
    assert 'missing.pt' in capsys.readouterr().err
    bad = tmp_path / 'bad.json'
    bad.write_text('{"steps": 3,\n "no_such_key": 1}')
    graph_path = save_graph(make_graph(), tmp_path / 'g.pt')
    assert main(['pretrain', '--graph', str(graph_path), '--out', str(tmp_path / 'r'),
                 '--config', str(bad)]) == 2
    assert 'no_such_key' in capsys.readouterr().err
    assert main(['pretrain', '--graph', str(graph_path), '--out', str(tmp_path / 'r'),
                 '--lam', '1.5', '--steps', '1']) == 2


def test_parser_lists_benchmarks():
    parser = build_parser()
    args = parser.parse_args(['bench', 'synthetic', '--quick'])
    assert args.benchmark == 'synthetic'
