"""The studies of design.md §2: each module turns a study config into its list of runs."""

from __future__ import annotations

from codelaw.errors import UserError
from codelaw.study.spec import Run, check_unique
from codelaw.study.studies import mixtures, per_language, synergy, translation, validation

EXPANDERS = {
  "per_language": per_language.expand,
  "synergy": synergy.expand,
  "translation": translation.expand,
  "mixtures": mixtures.expand,
  "validation": validation.expand,
}


def expand(config) -> list[Run]:
  """All runs of a study config, in a fixed order, with unique ids."""
  study = config.get("study")
  if study not in EXPANDERS:
    raise UserError(f"config.study = {study!r}: expected one of {', '.join(EXPANDERS)}")
  return check_unique(EXPANDERS[study](config))
