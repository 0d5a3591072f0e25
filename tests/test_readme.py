import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / 'README.md'


def test_readme_example_runs():
    blocks = re.findall(r'```python\n(.*?)```', README.read_text(), re.S)
    assert blocks, 'README has no python example'
    namespace: dict = {}
    exec(compile(blocks[0], str(README), 'exec'), namespace)
    out = namespace['out']
    assert set(out) >= {'loss', 'sample_loss', 'lm_loss', 'structure_loss'}
    assert bool(out['loss'].isfinite())


def test_readme_commands_exist():
    text = README.read_text()
    makefile = (README.parent / 'Makefile').read_text()
    for target in re.findall(r'^make (\S+)', text, re.M):
        assert re.search(rf'^{re.escape(target)}:', makefile, re.M), target
    ci = (README.parent / '.ci' / 'run').read_text()
    assert 'make test' in ci
