r"""Embedding every sample of a :class:`~pyg_sip.data.SampleGraph` with a
(pre-)trained encoder, in batches."""
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Tuple, Union

import torch
from torch import Tensor
from tqdm import tqdm

from pyg_sip.errors import PygSipError
from pyg_sip.sampling import CSRGraph, StructureBatch, sample_neighbors
from pyg_sip.utils.checks import check_index, check_positive

# Above this many samples, graph encoders run per batch over k-hop
# neighbourhoods instead of once over the full graph (unless told otherwise).
FULL_GRAPH_MAX_NODES = 100_000


def _payload(graph: Any, ids: Tensor, max_length: Optional[int]) -> dict:
    """What a batch of the samples :obj:`ids` carries; a plain
    :class:`~torch_geometric.data.Data` with :obj:`x` is accepted too."""
    if callable(getattr(graph, 'payload', None)):
        if max_length is None:
            return graph.payload(ids)
        return graph.payload(ids, max_length=max_length)
    if getattr(graph, 'x', None) is not None:
        return {'x': graph.x[ids]}
    raise PygSipError('the graph carries no sample payload (x, tokens or molecules)')


def make_batch(graph: Any, ids: Tensor, device: torch.device,
               num_hops: Optional[int] = None, max_length: Optional[int] = None,
               csr: Optional[CSRGraph] = None) -> StructureBatch:
    r"""The batch an encoder's :meth:`encode` embeds the samples :obj:`ids`
    (unique) from: a :class:`~pyg_sip.sampling.StructureBatch` without pairs
    holding their payload, :obj:`n_id` and :obj:`num_embedded`; with
    :obj:`num_hops`, also every sample within :obj:`num_hops` hops (after the
    embedded ones) and, as a local :obj:`edge_index`, all message edges into the
    samples closer than :obj:`num_hops` hops
    (:func:`pyg_sip.sampling.sample_neighbors` with all neighbours per hop).
    :obj:`csr` is the graph with messages grouped by target
    (``CSRGraph(edge_index.flip(0), N)``), built once by the caller."""
    ids = ids.cpu()
    if num_hops is None:
        n_id, edge_index = ids, None
    else:
        if csr is None:
            csr = CSRGraph(graph.edge_index.cpu().flip(0), graph.num_nodes)
        n_id, edge_index = sample_neighbors(csr.rowptr, csr.col, ids, [-1] * num_hops)
    batch = StructureBatch(n_id=n_id, num_embedded=ids.numel(),
                           **_payload(graph, n_id, max_length))
    batch = batch.to(device)
    if edge_index is not None:
        batch.edge_index = edge_index.to(device)
    return batch


def full_graph_batch(graph: Any, device: torch.device,
                     max_length: Optional[int] = None) -> StructureBatch:
    """All samples with the whole pre-training graph, for encoders that
    message-pass (:obj:`num_embedded = N`)."""
    batch = make_batch(graph, torch.arange(graph.num_nodes), device, None, max_length)
    batch.edge_index = graph.edge_index.to(device)
    return batch


def iter_batches(encoder: Any, graph: Any, ids: Tensor, batch_size: int,
                 device: torch.device, full_graph: Optional[bool] = None,
                 num_hops: Optional[int] = None,
                 max_length: Optional[int] = None
                 ) -> Iterator[Tuple[Tensor, StructureBatch, Optional[Tensor]]]:
    r"""Yields ``(batch_ids, batch, rows)`` covering :obj:`ids` in chunks of
    :obj:`batch_size`; see :func:`embed` for how graph encoders are served.
    :obj:`rows` is :obj:`None`, except for the single full-graph batch (which
    embeds all :math:`N` samples): then the rows of its embeddings that
    belong to :obj:`ids`."""
    if getattr(encoder, 'needs_graph', False):
        if full_graph is None:
            full_graph = graph.num_nodes <= FULL_GRAPH_MAX_NODES and num_hops is None
        if full_graph:
            yield ids, full_graph_batch(graph, device, max_length), ids.to(device)
            return
        if num_hops is None:
            num_hops = getattr(encoder, 'num_layers', None)
            if num_hops is None:
                raise PygSipError("the encoder message-passes but has no 'num_layers': "
                                  "pass 'num_hops'")
    else:
        num_hops = None
    csr = None if num_hops is None else CSRGraph(graph.edge_index.cpu().flip(0),
                                                 graph.num_nodes)
    for start in range(0, ids.numel(), batch_size):
        chunk = ids[start:start + batch_size]
        yield chunk, make_batch(graph, chunk, device, num_hops, max_length, csr), None


@contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[None]:
    """Puts :obj:`module` in eval mode and restores every submodule's own
    train/eval mode afterwards."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of the first parameter or buffer (CPU if none)."""
    for t in list(module.parameters()) + list(module.buffers()):
        return t.device
    return torch.device('cpu')


def embed(encoder: torch.nn.Module, graph: Any, batch_size: int = 256,
          device: Optional[Union[str, torch.device]] = None, progress: bool = True,
          full_graph: Optional[bool] = None, num_hops: Optional[int] = None,
          max_length: Optional[int] = None) -> Tensor:
    r"""Embeds every sample of :obj:`graph`:
    :math:`\mathbf{Z} = [f_\theta(x_1), \ldots, f_\theta(x_N)]`.

    Samples are embedded in chunks of :obj:`batch_size` through
    :obj:`graph.payload(ids)` and :obj:`encoder.encode(batch)`, under
    :obj:`torch.no_grad()` with the encoder in eval mode (every submodule's
    train/eval mode is restored afterwards).

    Encoders with :obj:`needs_graph = True` (message passing over
    :math:`G_{PT}`) are run once over the full graph (all payloads,
    :obj:`edge_index`, :obj:`num_embedded = N`) when :obj:`full_graph` is
    :obj:`True`, or by default when :math:`N \leq 100{,}000` and no
    :obj:`num_hops` is given. Otherwise every chunk is run over the
    :obj:`num_hops`-hop neighbourhood of its samples (default: the
    encoder's :obj:`num_layers`): every sample within :obj:`num_hops` hops,
    with all message edges into those closer than :obj:`num_hops` hops
    (:func:`pyg_sip.sampling.sample_neighbors` taking all neighbours). That
    is exact for layers whose messages depend only on the neighbours' states
    (mean / sum / max aggregation, as in GraphSAGE and GIN);
    degree-normalised layers (GCN) see the truncated degrees of the outermost
    hop, as with any neighbourhood sampler.

    Args:
        encoder (torch.nn.Module): An encoder with :meth:`encode` and
            :obj:`out_channels`.
        graph (SampleGraph): The samples (a plain
            :class:`~torch_geometric.data.Data` with :obj:`x` also works).
        batch_size (int, optional): Samples per chunk. (default: :obj:`256`)
        device (str or torch.device, optional): Where to compute; by default
            the encoder's device. The encoder is moved there for the call and
            back afterwards. (default: :obj:`None`)
        progress (bool, optional): Show a :obj:`tqdm` progress bar.
            (default: :obj:`True`)
        full_graph (bool, optional): For graph encoders, force (:obj:`True`)
            or forbid (:obj:`False`) the single full-graph pass.
            (default: :obj:`None`)
        num_hops (int, optional): Neighbourhood radius of the chunked
            graph-encoder pass. (default: :obj:`None`)
        max_length (int, optional): Truncation of token sequences.
            (default: :obj:`None`)

    Returns:
        The embeddings, on the CPU, in sample order.

    Shapes:
        - **output:** :math:`[N, \text{out\_channels}]`
    """
    check_positive('batch_size', batch_size, integer=True, optional=True)
    check_positive('num_hops', num_hops, integer=True, optional=True)
    home = module_device(encoder)
    device = torch.device(device) if device is not None else home
    ids = torch.arange(graph.num_nodes)
    return encode_ids(encoder, graph, ids, batch_size, device, progress, full_graph,
                      num_hops, max_length, home).cpu()


def encode_ids(encoder: torch.nn.Module, graph: Any, ids: Tensor, batch_size: int,
               device: torch.device, progress: bool = False,
               full_graph: Optional[bool] = None, num_hops: Optional[int] = None,
               max_length: Optional[int] = None,
               home: Optional[torch.device] = None) -> Tensor:
    """Embeddings of the (unique) samples :obj:`ids` in that order, on
    :obj:`device`; see :func:`embed`. The encoder is moved to :obj:`device`
    and back to :obj:`home` (if given) afterwards."""
    ids = check_index('ids', ids, graph.num_nodes, allow_empty=False)
    encoder.to(device)
    out = []
    try:
        with eval_mode(encoder), torch.no_grad(), tqdm(
                total=ids.numel(), disable=not progress, desc='embed',
                unit='sample') as bar:
            for _, batch, rows in iter_batches(encoder, graph, ids, batch_size, device,
                                                   full_graph, num_hops, max_length):
                z = encoder.encode(batch)
                if z.size(0) != batch.num_embedded:
                    raise PygSipError(f'the encoder returned {z.size(0)} embeddings for '
                                      f'a batch of {batch.num_embedded} samples')
                out.append(z if rows is None else z[rows])
                bar.update(z.size(0))
    finally:
        if home is not None:
            encoder.to(home)
    return torch.cat(out, dim=0)
