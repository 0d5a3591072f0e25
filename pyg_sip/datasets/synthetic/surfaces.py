r"""Flat and round surfaces of unit area with their exact geodesic metrics.

Every surface is the quotient of a simple space by a group of isometries, so
the geodesic distance is the smallest straight-line distance between one
point and the images of the other:

* ``plane``: the unit square :math:`[0, 1]^2` (convex: Euclidean distance);
* ``sphere``: the sphere of radius :math:`1 / (2 \sqrt{\pi})` (great-circle
  distance :math:`R \arccos \langle u, v \rangle / R^2`);
* ``torus``: the flat torus :math:`\mathbb{R}^2 / \mathbb{Z}^2` (coordinate
  differences wrapped to :math:`\min(|d|, 1 - |d|)`);
* ``mobius``: the flat Möbius strip, the band
  :math:`\mathbb{R} \times [-\frac{1}{2}, \frac{1}{2}]` modulo the glide
  reflection :math:`(x, y) \mapsto (x + 1, -y)`; the band is convex, so the
  distance is :math:`\min_k \lVert p - g^k q \rVert` and, for
  :math:`x \in [0, 1)`, :math:`k \in \{-1, 0, 1\}` suffices.
"""
import math
from typing import Optional

import torch
from torch import Tensor

from pyg_sip.errors import PygSipError

SURFACES = ('plane', 'sphere', 'torus', 'mobius')
SPHERE_RADIUS = 1.0 / (2.0 * math.sqrt(math.pi))  # unit area


def check_surface(kind: str) -> str:
    r"""Return ``kind`` or raise :class:`PygSipError` naming the choices."""
    if kind not in SURFACES:
        raise PygSipError(f"unknown surface kind '{kind}', expected one of {SURFACES}")
    return kind


def sample_surface(kind: str, num_points: int,
                   generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Draws ``num_points`` points uniformly (by area) from the surface
    ``kind``: coordinates in the unit square for ``plane`` and ``torus``,
    :math:`(x, y) \in [0, 1) \times [-\frac{1}{2}, \frac{1}{2}]` for
    ``mobius`` and 3-d points on the sphere for ``sphere``.

    Shapes:
        - **output:** :math:`(N, 2)`, or :math:`(N, 3)` for ``sphere``
    """
    check_surface(kind)
    if kind == 'sphere':
        pos = torch.randn(num_points, 3, generator=generator, dtype=torch.float64)
        return SPHERE_RADIUS * pos / pos.norm(dim=1, keepdim=True)
    pos = torch.rand(num_points, 2, generator=generator, dtype=torch.float64)
    if kind == 'mobius':
        pos[:, 1] -= 0.5
    return pos


def geodesic_distance(kind: str, a: Tensor, b: Tensor) -> Tensor:
    r"""The exact geodesic distance between every point of ``a`` and every
    point of ``b`` on the surface ``kind`` (see the module docstring).

    Shapes:
        - **input:** a :math:`(N, D)`, b :math:`(M, D)`
        - **output:** :math:`(N, M)`
    """
    check_surface(kind)
    if kind == 'plane':
        return torch.cdist(a, b)
    if kind == 'sphere':
        cos = (a @ b.t()) / SPHERE_RADIUS**2
        return SPHERE_RADIUS * torch.arccos(cos.clamp(-1.0, 1.0))
    diff = a.unsqueeze(1) - b.unsqueeze(0)  # [N, M, 2]
    if kind == 'torus':
        wrapped = diff.abs()
        wrapped = torch.minimum(wrapped, 1.0 - wrapped)
        return wrapped.norm(dim=-1)
    # mobius: images g^k(b) = (b_x + k, (-1)^k b_y) for k in {-1, 0, 1}
    dx, dy = diff[..., 0], diff[..., 1]
    sy = a[:, 1].unsqueeze(1) + b[:, 1].unsqueeze(0)  # a_y - (-b_y)
    d0 = torch.hypot(dx, dy)
    d_minus = torch.hypot(dx + 1.0, sy)
    d_plus = torch.hypot(dx - 1.0, sy)
    return torch.minimum(d0, torch.minimum(d_minus, d_plus))
