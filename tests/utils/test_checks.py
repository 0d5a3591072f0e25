import math
import re

import pytest
import torch

from pyg_sip.errors import PygSipError
from pyg_sip.utils import (
    check_choice,
    check_edge_index,
    check_index,
    check_int,
    check_positive,
    check_rate,
    check_real,
    first_true,
)


def raises(match):
    return pytest.raises(PygSipError, match=re.escape(match))


def test_first_true():
    assert first_true(torch.tensor([False, False, True, True])) == 2
    assert first_true(torch.zeros(3, dtype=torch.bool)) == -1
    assert first_true(torch.zeros(0, dtype=torch.bool)) == -1
    assert first_true(torch.tensor([[False, False], [False, True]])) == 3


def test_check_int():
    assert check_int('n', 3) == 3
    assert check_int('n', torch.tensor(4)) == 4
    assert check_int('n', None, optional=True) is None
    assert check_int('n', -5, low=None) == -5
    with raises("'n' must be an integer >= 0, got -1"):
        check_int('n', -1)
    with raises("'n' must be an integer >= 0, got True"):
        check_int('n', True)
    with raises("'n' must be an integer >= 0, got 2.0"):
        check_int('n', 2.0)
    with raises("'n' must be an integer >= 0, got 'ten'"):
        check_int('n', 'ten')
    with raises("'n' must be an integer in [1, 3] or None, got 4"):
        check_int('n', 4, 1, 3, optional=True)


def test_check_real():
    assert check_real('t', 2) == 2.0
    with raises("'t' must be a finite number in (0, inf], got 0"):
        check_real('t', 0, low=0, low_open=True)
    with raises("got nan"):
        check_real('t', math.nan)
    with raises("got '1'"):
        check_real('t', '1')


def test_check_positive():
    assert check_positive('m', 0.5) == 0.5
    assert check_positive('k', 3, integer=True) == 3
    assert check_positive('k', None, integer=True, optional=True) is None
    with raises("'m' must be a finite number > 0, got 0"):
        check_positive('m', 0)
    with raises("'m' must be a finite number > 0, got inf"):
        check_positive('m', math.inf)
    with raises("'k' must be a positive integer, got 2.5"):
        check_positive('k', 2.5, integer=True)
    with raises("'k' must be a positive integer, got 0"):
        check_positive('k', 0, integer=True, optional=True)


def test_check_rate_and_choice():
    assert check_rate('p', 1) == 1.0
    with raises("'p' must be a finite number in [0, 1], got 1.5"):
        check_rate('p', 1.5)
    assert check_choice('policy', 'hard', ('uniform', 'hard')) == 'hard'
    with raises("unknown policy 'soft': 'policy' must be one of ['uniform']"):
        check_choice('policy', 'soft', ('uniform', ))


def test_check_index():
    assert check_index('ids', [2, 0], 3).tolist() == [2, 0]
    assert check_index('ids', torch.tensor([True, False, True]),
                       3).tolist() == [0, 2]
    assert check_index('ids', torch.tensor([[1]]), 3).dtype == torch.long
    with raises('ids[1] = 3 is not a valid sample id (valid ids: 0..2)'):
        check_index('ids', [0, 3], 3)
    with raises('ids[0] = -1 is not a valid sample id'):
        check_index('ids', [-1], 3)
    with raises("boolean 'ids' must have shape [3] (one entry per sample), "
                'got [2]'):
        check_index('ids', torch.tensor([True, False]), 3)
    with raises("'ids' must be an integer tensor, got dtype torch.float32"):
        check_index('ids', torch.tensor([1.0]), 3)
    with raises("'ids' is empty: it must hold at least one sample id"):
        check_index('ids', torch.zeros(0, dtype=torch.long), 3,
                    allow_empty=False)


def test_check_edge_index():
    edges = check_edge_index('e', torch.tensor([[0, 1], [1, 2]]).int(), 3)
    assert edges.dtype == torch.long
    with raises('e[1, 1] = 5 (edge 1) is not a valid sample id: edge 1 = '
                '(1, 5) is out of range (the graph of 3 samples has ids '
                '0..2)'):
        check_edge_index('e', [[0, 1], [1, 5]], 3)
    with raises('e[0, 0] = -2 (edge 0)'):
        check_edge_index('e', [[-2], [0]], None)
    with raises("'e' must have shape [2, num_edges], got [3, 1]"):
        check_edge_index('e', torch.zeros(3, 1, dtype=torch.long), 3)
    with raises("'e' is empty: it must hold at least one edge"):
        check_edge_index('e', torch.zeros(2, 0, dtype=torch.long), 3,
                         allow_empty=False)
