import torch
from torch import nn

from pyg_sip.cli import build_parser, main
from pyg_sip.data import SampleGraph, save_graph
from pyg_sip.losses import available_losses, registry
from pyg_sip.pipeline.config import ENCODERS, negative_policies


def _graph(n=24):
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 3
    row, col = torch.randint(0, n, (2, 6 * n), generator=gen)
    keep = (y[row] == y[col]) & (row != col)
    return SampleGraph(x=torch.randn(n, 5, generator=gen), y=y,
                       edge_index=torch.stack([row[keep], col[keep]]))


def _choices(command, flag):
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    return next(a.choices for a in sub._actions if flag in a.option_strings)


def test_flags_list_what_the_registries_hold():
    assert list(_choices('pretrain', '--structure-loss')) == available_losses()
    assert tuple(_choices('pretrain', '--negative-sampling')) == tuple(negative_policies())
    assert tuple(_choices('pretrain', '--encoder')) == tuple(ENCODERS)


def test_a_registered_loss_is_usable_from_the_command_line(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, '_LOSSES', dict(registry._LOSSES))
    calls = []

    @registry.register_loss('mean_pos_distance')
    class MeanPosDistance(nn.Module):
        def forward(self, z, pos_index, neg_index):
            calls.append((pos_index.size(1), neg_index.size(1)))
            return (z[pos_index[0]] - z[pos_index[1]]).pow(2).sum(-1).mean()

    graph = save_graph(_graph(), tmp_path / 'g.pt')
    assert main(['pretrain', '--graph', str(graph), '--out', str(tmp_path / 'run'),
                 '--structure-loss', 'mean_pos_distance', '--steps', '2', '--batch-size', '8',
                 '--lam', '1.0', '--no-progress']) == 0
    assert len(calls) == 2 and all(p > 0 for p, _ in calls)
    assert (tmp_path / 'run' / 'encoder.pt').is_file()


def test_user_errors_are_one_line_with_exit_code_2(capsys, tmp_path):
    assert main(['demo', '--seeds', '0']) == 2
    assert capsys.readouterr().err == 'pyg-sip: error: --seeds must be at least 1, got 0\n'
    assert main(['demo', '--seeds', '1', '--steps', '1', '--output', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('pyg-sip: error: --output') and err.count('\n') == 1
    folder = tmp_path / 'graph.pt'
    folder.mkdir()
    assert main(['pretrain', '--graph', str(folder), '--out', str(tmp_path / 'r')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('pyg-sip: error: ') and str(folder) in err
    assert err.count('\n') == 1 and 'Traceback' not in err
