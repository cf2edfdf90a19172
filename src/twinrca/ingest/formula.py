"""The small, safe arithmetic of KPI formulas over counter columns.

A formula is parsed once with :mod:`ast` and only these nodes are accepted: numbers,
counter names (``RRC.ConnEstabSucc``: a dotted name; any other name in
`` `backticks` ``), ``+ - * /``, unary minus, ``min(a, b)``, ``max(a, b)`` and the
variable ``period_s``. Nothing is ever passed to ``eval``. Evaluation is vectorised:
each counter resolves to a pandas Series (NaN where absent), and a result that is not
finite (a division by 0) is NaN, i.e. not derived.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from twinrca.core.errors import ConfigError

__all__ = ["PERIOD", "Formula"]

PERIOD = "period_s"
_QUOTED = re.compile(r"`([^`]+)`")
_OPS: dict[type, Callable[[object, object], object]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_FUNCS = {"min": np.minimum, "max": np.maximum}


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


class Formula:
    """One KPI formula; :attr:`counters` are the names it reads."""

    def __init__(self, text: str, *, where: str = "formula") -> None:
        self.text = text
        self._quoted: dict[str, str] = {}

        def quote(m: re.Match[str]) -> str:
            key = f"__q{len(self._quoted)}"
            self._quoted[key] = m.group(1)
            return key

        try:
            tree = ast.parse(_QUOTED.sub(quote, text), mode="eval")
        except SyntaxError as exc:
            raise ConfigError(f"{where}: not a formula: {text!r} ({exc.msg})") from None
        self._root = tree.body
        self.counters: frozenset[str] = frozenset()
        names: set[str] = set()
        self._check(self._root, names, where)
        self.counters = frozenset(names - {PERIOD})

    def _name(self, node: ast.expr) -> str | None:
        name = _dotted(node)
        return self._quoted.get(name, name) if name is not None else None

    def _check(self, node: ast.expr, names: set[str], where: str) -> None:
        name = self._name(node)
        if name is not None:
            names.add(name)
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            pass
        elif isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            self._check(node.left, names, where)
            self._check(node.right, names, where)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            self._check(node.operand, names, where)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCS
            and len(node.args) == 2
            and not node.keywords
        ):
            for arg in node.args:
                self._check(arg, names, where)
        else:
            raise ConfigError(
                f"{where}: {ast.unparse(node)!r} is not allowed in a formula",
                hint="use counter names, numbers, + - * / ( ), min(a, b), max(a, b), period_s",
            )

    def evaluate(self, column: Callable[[str], pd.Series], period_s: pd.Series) -> pd.Series:
        """The formula per row; NaN where a counter is missing or the result not finite."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self._eval(self._root, column, period_s)
        if not isinstance(out, pd.Series):
            out = pd.Series(float(out), index=period_s.index)
        return out.where(np.isfinite(out))

    def _eval(self, node: ast.expr, column: Callable[[str], pd.Series], period: pd.Series):
        name = self._name(node)
        if name is not None:
            return period if name == PERIOD else column(name)
        if isinstance(node, ast.Constant):
            return float(node.value)  # type: ignore[arg-type]  # numbers only (_check)
        if isinstance(node, ast.BinOp):
            op = _OPS[type(node.op)]
            return op(self._eval(node.left, column, period), self._eval(node.right, column, period))
        if isinstance(node, ast.UnaryOp):
            value = self._eval(node.operand, column, period)
            return -value if isinstance(node.op, ast.USub) else value
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # _check
        a, b = (self._eval(arg, column, period) for arg in node.args)
        return _FUNCS[node.func.id](a, b)
