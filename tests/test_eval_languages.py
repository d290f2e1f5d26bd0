"""A run evaluates only the languages its study takes from it (train.eval_languages)."""

import pytest

from codelaw.errors import UserError
from codelaw.study import studies
from codelaw.study.studies import base
from codelaw.train import defaults, settings


def test_per_language_runs_evaluate_only_their_language():
  config = base.study_config("per_language", "smoke")
  runs = studies.expand(config)
  assert runs
  for run in runs:
    (lang,) = run.eval_languages
    assert tuple(run.config["train"]["eval_languages"]) == (lang,)
    assert run.config["data"]["proportions"] == {lang: 1.0}


def test_empty_means_every_language_with_a_validation_split():
  every = settings.resolve(defaults.train_config()).eval_languages
  assert len(every) == 7
  one = settings.resolve(defaults.train_config(train=dict(eval_languages=("go",)))).eval_languages
  assert one == ("go",)


@pytest.mark.parametrize("bad, named", [(("cobol",), "cobol"), ("python", "expected a tuple")])
def test_bad_eval_languages_is_a_user_error(bad, named):
  with pytest.raises(UserError, match="train.eval_languages") as err:
    settings.resolve(defaults.train_config(train=dict(eval_languages=bad)))
  assert named in str(err.value)
