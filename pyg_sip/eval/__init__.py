"""Evaluation of sample embeddings: embedding, probes, fine-tuning, link
retrieval and diagnostics of the pre-training graph."""
from pyg_sip.eval.diagnostics import graph_alignment, label_smoothness
from pyg_sip.eval.embed import embed
from pyg_sip.eval.finetune import finetune
from pyg_sip.eval.metrics import auroc, spearman
from pyg_sip.eval.probes import knn_probe, linear_probe
from pyg_sip.eval.retrieval import link_retrieval

__all__ = [
    'embed',
    'knn_probe',
    'linear_probe',
    'finetune',
    'link_retrieval',
    'label_smoothness',
    'graph_alignment',
    'auroc',
    'spearman',
]
