import subprocess
import sys

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
