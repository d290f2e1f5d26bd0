"""The optional `interop` extra: import one of its libraries, or say in one line how to install it."""

from __future__ import annotations

import importlib
from types import ModuleType

from codelaw.errors import UserError

INSTALL = 'pip install -e ".[interop]"'


def require(module: str) -> ModuleType:
  """`importlib.import_module(module)`, or a UserError naming the extra when it is not installed."""
  try:
    return importlib.import_module(module)
  except ImportError:
    raise UserError(f"{module} is not installed; codelaw.interop needs the extra: {INSTALL}") from None
