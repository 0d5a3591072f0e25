"""End-to-end runs (pre-train → probe) and the result-row schema they report."""
from pyg_sip.experiments.results import aggregate, format_table, write_rows
from pyg_sip.experiments.pipeline import (PretrainConfig, build_encoder, method_name,
                                          pretrain, pretrain_and_probe)

__all__ = ['PretrainConfig', 'aggregate', 'build_encoder', 'format_table', 'method_name',
           'pretrain', 'pretrain_and_probe', 'write_rows']
