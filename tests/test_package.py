import ast
import json
import subprocess
import sys
from pathlib import Path

import pyg_sip


def test_public_names():
    for name in ('SampleGraph', 'StructureLoader', 'SIPObjective', 'Trainer', 'PygSipError',
                 'AminoAcidTokenizer', 'WordTokenizer'):
        assert hasattr(pyg_sip, name), name
    assert issubclass(pyg_sip.PygSipError, ValueError)
    assert callable(pyg_sip.losses.get_loss)
    from pyg_sip.datasets import GraphletTopology, ManifoldGraph, NoisyCliques  # noqa: F401
    from pyg_sip.eval import embed, knn_probe, label_smoothness  # noqa: F401
    from pyg_sip.nn import GNNEncoder, MLPEncoder, MoleculeEncoder, SequenceEncoder  # noqa


def test_import_needs_no_optional_extra():
    # Optional extras are imported lazily: block them and import everything.
    code = (
        'import sys\n'
        'for m in ("rdkit", "Bio", "ogb", "transformers", "pytorch_metric_learning",\n'
        '          "torch_scatter", "torch_sparse", "pyg_lib", "networkx", "sklearn"):\n'
        '    sys.modules[m] = None\n'
        'import pyg_sip, pyg_sip.cli\n'
        'print("ok")\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'ok'


PACKAGE = Path(pyg_sip.__file__).resolve().parent
#: The layers of the package, lowest first: each may import only those
#: before it (the modules of the first entry form the lowest layer).
LAYERS = (('errors', 'typing', '_optional', 'utils'), ('data', ), ('sampling', ), ('losses', ),
          ('nn', ), ('objective', ), ('train', ), ('eval', ), ('datasets', ), ('pipeline', ),
          ('cli', ))
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def _imports(path: Path):
    """``(line, module)`` of every import in a file, function-local ones too."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f'{path}:{node.lineno}: relative import'
            if node.module == 'pyg_sip':
                yield from ((node.lineno, f'pyg_sip.{a.name}') for a in node.names)
            else:
                yield node.lineno, node.module


def _modules():
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = path.relative_to(PACKAGE).with_suffix('').parts
        if parts != ('__init__', ):
            yield path, parts[0]


def test_every_module_belongs_to_a_layer():
    assert {layer for _, layer in _modules()} == set(RANK)


def test_no_argparse_or_matplotlib_outside_the_cli():
    found = [f'{path.relative_to(PACKAGE)}:{line} imports {name}' for path, layer in _modules()
             if layer != 'cli' for line, name in _imports(path)
             if name.split('.')[0] in ('argparse', 'matplotlib')]
    assert not found, found


def test_imports_only_go_down_the_layers():
    found = [f'{path.relative_to(PACKAGE)}:{line} ({layer}) imports {name}'
             for path, layer in _modules() for line, name in _imports(path)
             if name.startswith('pyg_sip.') and RANK[name.split('.')[1]] > RANK[layer]]
    assert not found, found


def test_each_layer_imports_alone():
    # In a fresh interpreter, each layer is imported on its own under a bare
    # package (the package's __init__ imports every layer), its modules removed
    # before the next: importing one layer loads exactly what it depends on, so
    # a cycle or an upward import shows up as an error or an extra module.
    code = (
        'import importlib, json, sys, types\n'
        'loaded = {}\n'
        f'for layer in {list(RANK)!r}:\n'
        '    for name in [m for m in sys.modules if m.split(".")[0] == "pyg_sip"]:\n'
        '        del sys.modules[name]\n'
        '    pkg = types.ModuleType("pyg_sip")\n'
        f'    pkg.__path__ = [{str(PACKAGE)!r}]\n'
        '    sys.modules["pyg_sip"] = pkg\n'
        '    importlib.import_module("pyg_sip." + layer)\n'
        '    loaded[layer] = sorted({m.split(".")[1] for m in sys.modules\n'
        '                            if m.startswith("pyg_sip.")})\n'
        'print(json.dumps(loaded))\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for layer, names in json.loads(out.stdout).items():
        assert layer in names
        above = [name for name in names if RANK[name] > RANK[layer]]
        assert not above, f'importing pyg_sip.{layer} loads {above}'

