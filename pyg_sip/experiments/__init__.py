"""End-to-end runs (pre-train → probe) and the result-row schema they report."""
from pyg_sip.pipeline import (PretrainConfig, aggregate, build_encoder, format_table,
                              method_name, pretrain, pretrain_and_probe, write_rows)

__all__ = ['PretrainConfig', 'aggregate', 'build_encoder', 'format_table', 'method_name',
           'pretrain', 'pretrain_and_probe', 'write_rows']
