r"""Pre-train → embed → probe, as functions users call: the run
configuration (:class:`PretrainConfig`), the encoder it names
(:func:`build_encoder`), one pre-training run (:func:`pretrain`) and the
result rows every command reports."""
from pyg_sip.pipeline.config import PretrainConfig
from pyg_sip.pipeline.pretrain import (
    build_encoder,
    encoder_spec,
    make_trainer,
    method_name,
    pretrain,
    pretrain_and_probe,
)
from pyg_sip.pipeline.results import (
    PERF_KEYS,
    RESULT_KEYS,
    aggregate,
    format_table,
    mean_std,
    write_rows,
)
from pyg_sip.pipeline.run import Run, RunConfig, load_encoder, load_run

__all__ = ['PERF_KEYS', 'RESULT_KEYS', 'PretrainConfig', 'Run', 'RunConfig', 'aggregate',
           'build_encoder', 'encoder_spec', 'format_table', 'load_encoder', 'load_run',
           'make_trainer', 'mean_std', 'method_name', 'pretrain', 'pretrain_and_probe',
           'write_rows']
