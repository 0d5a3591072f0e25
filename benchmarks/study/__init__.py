r"""The study behind the benchmark tables: the SIPT paper's synthetic
experiments (:mod:`.synthetic`) and the OGB-style table on the real data
shipped in ``datasets/`` (:mod:`.real` and its dataset families). Run through
``benchmarks/synthetic.py`` / ``benchmarks/real.py`` or ``pyg-sip bench``
from a checkout; the library (:mod:`pyg_sip`) does not depend on it."""
