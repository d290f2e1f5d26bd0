"""The import graph of codelaw, read from the source with `ast`: module-level and function-level imports
both count (a function-level import does not make a cycle go away, it only hides it). It must have no
cycle, and layers only import downwards:

    errors, io, checks, languages, contracts  ->  data, model  ->  train  ->  evals, study  ->  laws  ->  report

(contracts are the files jobs hand each other: plain data that every layer may write or read.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "codelaw"

# Rank of each top-level part: a module may import parts of lower or equal rank, never higher.
LAYERS = {
  "errors": 0,
  "io": 0,
  "checks": 0,
  "provenance": 0,
  "languages": 0,
  "__init__": 0,
  "contracts": 0,
  "data": 1,
  "model": 1,
  "train": 2,
  "evals": 3,
  "study": 3,
  "interop": 3,
  "laws": 4,
  "report": 5,
  "launch": 6,
}


def _modules() -> dict[str, Path]:
  out = {}
  for path in sorted(PACKAGE.rglob("*.py")):
    parts = ("codelaw",) + path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
      parts = parts[:-1]
    out[".".join(parts)] = path
  return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
  """The codelaw modules `name` imports anywhere in its source."""
  package = name if path.name == "__init__.py" else name.rpartition(".")[0]
  found = set()
  for node in ast.walk(ast.parse(path.read_text(), str(path))):
    if isinstance(node, ast.Import):
      found.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:
        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(anchor + ([base] if base else []))
      for alias in node.names:
        sub = f"{base}.{alias.name}"
        found.add(sub if sub in MODULES else base)
  return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
  """Strongly connected components with more than one module (Tarjan), each sorted."""
  index: dict[str, int] = {}
  low: dict[str, int] = {}
  stack: list[str] = []
  on_stack: set[str] = set()
  out = []

  def visit(v: str) -> None:
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in sorted(graph[v]):
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        out.append(sorted(component))

  for v in sorted(graph):
    if v not in index:
      visit(v)
  return out


def _layer(name: str) -> str:
  return name.split(".")[1] if "." in name else "__init__"


def test_the_graph_is_read():
  # Guards the walker itself: known edges, including one made only inside a function body.
  assert "codelaw.errors" in GRAPH["codelaw.checks"]
  assert "codelaw.model.sharding" in GRAPH["codelaw.train.mesh"]
  assert len(MODULES) > 100 and sum(map(len, GRAPH.values())) > 200


def test_walker_counts_function_level_imports(tmp_path):
  src = tmp_path / "m.py"
  src.write_text("def f():\n  from codelaw.data import pipeline\n  import codelaw.io\n")
  assert _imports("codelaw.fake", src) == {"codelaw.data.pipeline", "codelaw.io"}


def test_no_import_cycles():
  cycles = _cycles(GRAPH)
  assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_model_never_imports_train():
  bad = sorted(
    f"{a} -> {b}" for a, deps in GRAPH.items() for b in deps if _layer(a) == "model" and _layer(b) == "train"
  )
  assert not bad, bad


@pytest.mark.parametrize("part", sorted({_layer(m) for m in MODULES}))
def test_layers_import_only_downwards(part):
  assert part in LAYERS, f"codelaw.{part} has no layer in LAYERS"
  upward = sorted(
    f"{a} -> {b}" for a, deps in GRAPH.items() if _layer(a) == part for b in deps if LAYERS[_layer(b)] > LAYERS[part]
  )
  assert not upward, upward
