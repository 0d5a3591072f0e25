r"""Every dataset adapter by name, with its options described as data, so
that a command line (``pyg-sip prepare KIND``) or a config file can build a
:class:`~pyg_sip.data.SampleGraph` from files without Python code.

.. code-block:: python

    from pyg_sip.datasets import available_adapters, get_adapter

    adapter = get_adapter('cane')
    graph, report = adapter.build(root='datasets/cane_cora_hepth/cora', min_freq=2)
    report['counts']   # {'nodes': 2277, 'edges': ...}
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from pyg_sip.errors import PygSipError

_TYPES = (str, int, float, bool, Path)
_TRUE, _FALSE = ('true', 'yes', '1', 'on'), ('false', 'no', '0', 'off')


@dataclass(frozen=True)
class Option:
    r"""One option of a dataset adapter.

    Args:
        name (str): The Python keyword; the command-line flag is ``--`` +
            ``name`` with ``_`` replaced by ``-`` (:attr:`flag`).
        type (type): :class:`str`, :class:`int`, :class:`float`,
            :class:`bool` or :class:`pathlib.Path`; the type of each value.
        default (Any, optional): The value when the option is not given.
            (default: :obj:`None`)
        required (bool, optional): Whether the option must be given.
            (default: :obj:`False`)
        help (str, optional): One sentence for ``--help``. (default: :obj:`""`)
        choices (tuple, optional): The allowed values. (default: :obj:`None`)
        multiple (bool, optional): Whether the option takes a list of values.
            (default: :obj:`False`)
    """
    name: str
    type: type = str
    default: Any = None
    required: bool = False
    help: str = ''
    choices: Optional[tuple] = None
    multiple: bool = False

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise PygSipError(f"option '{self.name}': type must be one of "
                              f'{[t.__name__ for t in _TYPES]}, got {self.type!r}')
        if not self.name.isidentifier():
            raise PygSipError(f"option name '{self.name}' is not a Python keyword")

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--min-score``."""
        return '--' + self.name.replace('_', '-')

    def convert(self, value: Any, adapter: str = '') -> Any:
        """``value`` (or each of a list, for :attr:`multiple`) as
        :attr:`type`, checked against :attr:`choices`; strings are parsed as
        a command line gives them. Raises :class:`PygSipError` naming the
        option and the value."""
        if self.multiple:
            values = list(value) if isinstance(value, (list, tuple)) else [value]
            return [self._one(v, adapter) for v in values]
        return self._one(value, adapter)

    def _one(self, value: Any, adapter: str) -> Any:
        where = f"adapter '{adapter}', option {self.flag}" if adapter else f'option {self.flag}'
        out = _convert(value, self.type)
        if out is None:
            raise PygSipError(f'{where}: expected {self.type.__name__}, got {value!r}')
        if self.choices is not None and out not in self.choices:
            raise PygSipError(f'{where}: {value!r} is not one of {list(self.choices)}')
        return out


def _convert(value: Any, kind: type) -> Any:
    """``value`` as ``kind``, or :obj:`None` when it is not one."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None
    if kind is int:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        text = str(value).strip().lstrip('+-')
        # str.isdigit() accepts '²', which int() rejects: ASCII decimals only
        if not (text.isascii() and text.isdecimal()):
            return None
        return int(str(value).strip())
    if kind is float:
        if isinstance(value, bool):
            return None
        try:
            out = float(value)
        except (TypeError, ValueError):
            return None
        return out if math.isfinite(out) else None
    if kind is Path:
        return Path(value) if isinstance(value, (str, Path)) and str(value) else None
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Adapter:
    r"""A dataset adapter: its name, a one-line help, its options and the
    function that reads the files.

    Args:
        name (str): The kind, e.g. :obj:`"proteins"`.
        help (str): One line for ``--help``.
        options (tuple[Option, ...]): What :meth:`build` accepts.
        loader (callable): Takes the options as keywords and returns the
            :class:`~pyg_sip.data.SampleGraph` and its load report (a dict
            with ``source``, ``counts``, ``dropped`` and ``examples``).
    """
    name: str
    help: str
    options: Tuple[Option, ...]
    loader: Callable[..., Tuple[Any, dict]] = field(repr=False, compare=False)

    def option(self, name: str) -> Option:
        """The option called ``name`` (the keyword or the flag)."""
        key = name.lstrip('-').replace('-', '_')
        for opt in self.options:
            if opt.name == key:
                return opt
        raise PygSipError(f"adapter '{self.name}' has no option '{name}' (options: "
                          f'{[o.name for o in self.options]})')

    def resolve(self, **options: Any) -> Dict[str, Any]:
        """Every option's value: the given ones converted and checked,
        defaults for the others. Raises :class:`PygSipError` for an unknown
        option, a missing required one or a bad value, before any file is
        read."""
        for name in options:
            self.option(name)
        values = {}
        for opt in self.options:
            value = options.get(opt.name)
            if value is None:
                if opt.required:
                    raise PygSipError(f"adapter '{self.name}' needs option {opt.flag} "
                                      f'({opt.help})')
                values[opt.name] = opt.default
            else:
                values[opt.name] = opt.convert(value, self.name)
        return values

    def build(self, **options: Any) -> Tuple[Any, dict]:
        """Reads the files: ``(SampleGraph, load report)``, where the load
        report is a dict with ``source``, ``counts`` (what was kept),
        ``dropped`` (counts by reason) and ``examples`` (the first dropped
        item of each reason)."""
        return self.loader(**self.resolve(**options))

    def __repr__(self) -> str:
        return f"Adapter('{self.name}', options={[o.name for o in self.options]})"


_REGISTRY: Dict[str, Adapter] = {}


def register_adapter(adapter: Adapter) -> Adapter:
    """Adds ``adapter`` to the registry under its name (a name may be
    registered once)."""
    if adapter.name in _REGISTRY:
        raise PygSipError(f"an adapter named '{adapter.name}' is already registered")
    _REGISTRY[adapter.name] = adapter
    return adapter


def available_adapters() -> List[str]:
    """The names of the registered dataset adapters, sorted."""
    return sorted(_REGISTRY)


def get_adapter(name: str) -> Adapter:
    """The adapter called ``name``; raises :class:`PygSipError` listing the
    available ones when there is none."""
    if name not in _REGISTRY:
        raise PygSipError(f"unknown dataset kind '{name}' (available: "
                          f'{", ".join(available_adapters())})')
    return _REGISTRY[name]
