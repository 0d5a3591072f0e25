"""The adapter registry: names, options as data, checked before reading."""
import json
import shutil
from pathlib import Path

import pytest
from hostile import raises_at

from pyg_sip.datasets import Adapter, Option, available_adapters, get_adapter
from pyg_sip.datasets.registry import register_adapter

DATA = Path(__file__).resolve().parents[2] / 'datasets'
KINDS = ['cane', 'cliques', 'deeploc', 'graphlets', 'manifold', 'molecules', 'ogb',
         'planetoid', 'proteins', 'shs27k', 'text']


def test_available_and_unknown():
    assert available_adapters() == KINDS
    raises_at(lambda: get_adapter('pdb'), None, None,
              "unknown dataset kind 'pdb' \\(available: cane, cliques, .*, text\\)")


def test_options_are_described():
    for name in KINDS:
        adapter = get_adapter(name)
        assert adapter.name == name and adapter.help
        for opt in adapter.options:
            assert opt.name.isidentifier() and opt.help
            assert opt.flag == '--' + opt.name.replace('_', '-')
            assert opt.type in (str, int, float, bool, Path)
            if opt.choices is not None:
                assert opt.default is None or opt.default in opt.choices
    opt = get_adapter('molecules').option('--n-bits')
    assert (opt.type, opt.default, opt.required, opt.multiple) == (int, 2048, False, False)
    assert get_adapter('proteins').option('sequences').multiple


@pytest.mark.parametrize('kind, options, match', [
    ('cane', {}, 'needs option --root'),
    ('cane', {'root': 'x', 'colour': 1}, "no option 'colour'"),
    ('cane', {'root': 'x', 'min_freq': '²'}, r"--min-freq: expected int, got '²'"),
    ('cane', {'root': 'x', 'min_freq': True}, r"--min-freq: expected int, got True"),
    ('molecules', {'path': 'x', 'threshold': 'nan'}, r"--threshold: expected float, got 'nan'"),
    ('molecules', {'path': 'x', 'split': ['0.8', 'a', '0.1']}, r"--split: expected float"),
    ('proteins', {'sequences': 'x', 'interactions': 'y', 'keep_isolated': 'maybe'},
     r"--keep-isolated: expected bool, got 'maybe'"),
    ('planetoid', {'root': 'x', 'name': 'cora'}, r"'cora' is not one of \['Cora'"),
    ('cane', {'root': ''}, r"--root: expected Path, got ''"),
])
def test_bad_options_name_the_value(kind, options, match):
    raises_at(lambda: get_adapter(kind).build(**options), None, None, match)


def test_conversions():
    assert Option('n', int).convert('-3') == -3
    assert Option('f', float).convert('1e-3') == 0.001
    assert Option('b', bool).convert('Yes') is True
    assert Option('p', Path, multiple=True).convert('a') == [Path('a')]
    with pytest.raises(Exception, match='type must be one of'):
        Option('x', list)
    with pytest.raises(Exception, match='already registered'):
        register_adapter(Adapter('cane', '', (), lambda: None))


def test_build_cane_and_planetoid(tmp_path):
    graph, report = get_adapter('cane').build(root=str(DATA / 'cane_cora_hepth' / 'cora'),
                                              min_freq='2')
    assert graph.num_nodes == 2277 and report['counts']['nodes'] == 2277
    assert report['dropped']['edges_self_loop'] > 0
    assert graph.tokenizer.vocab_size == graph.vocab_size  # the fitted vocabulary
    json.dumps(report)  # plain data
    shutil.copytree(DATA / 'planetoid' / 'Cora' / 'raw', tmp_path / 'Cora' / 'raw')
    graph, report = get_adapter('planetoid').build(root=tmp_path, name='Cora', split='full')
    assert graph.x.shape == (2708, 1433) and report['counts']['edges'] == 5278
    assert not (tmp_path / 'Cora' / 'processed').exists()  # nothing written


def test_build_synthetic():
    graph, report = get_adapter('cliques').build(num_cliques='3', clique_size=4, seed=1)
    assert graph.num_nodes == 12 and report['counts'] == {'samples': 12, 'edges': 18}
    assert graph.tokenizer.vocab_size == graph.vocab_size
