"""The seven programming languages codelaw studies, and what the rest of the code needs to know of them."""

from __future__ import annotations

import dataclasses

from codelaw.errors import UserError


@dataclasses.dataclass(frozen=True)
class Language:
  name: str  # canonical name used in configs, files and tables
  display: str  # name in figures and reports
  extensions: tuple[str, ...]
  line_comment: str
  block_comment: tuple[str, str] | None


LANGUAGES: tuple[Language, ...] = (
  Language("python", "Python", (".py",), "#", ('"""', '"""')),
  Language("java", "Java", (".java",), "//", ("/*", "*/")),
  Language("javascript", "JavaScript", (".js", ".mjs", ".cjs"), "//", ("/*", "*/")),
  Language("typescript", "TypeScript", (".ts", ".mts", ".cts"), "//", ("/*", "*/")),
  Language("csharp", "C#", (".cs",), "//", ("/*", "*/")),
  Language("go", "Go", (".go",), "//", ("/*", "*/")),
  Language("rust", "Rust", (".rs",), "//", ("/*", "*/")),
)
NAMES: tuple[str, ...] = tuple(lang.name for lang in LANGUAGES)
BY_NAME: dict[str, Language] = {lang.name: lang for lang in LANGUAGES}


def get(name: str) -> Language:
  if name not in BY_NAME:
    raise UserError(f"unknown language {name!r}; expected one of {', '.join(NAMES)}")
  return BY_NAME[name]
