"""Report job: the paper's figures and tables from a study workdir.

  python -m codelaw.launch --config configs/report.py --config.study=DIR --workdir OUT

DIR holds results.csv and, where the study produced them (in DIR or one level below, as the quickstart lays
them out), translation.csv, fit.json and allocation.json. OUT gets index.html, figures/*.png, tables/*.md.
"""

from ml_collections import ConfigDict


def get_config(arg: str | None = None) -> ConfigDict:
  del arg
  c = ConfigDict()
  c.job = "report"
  c.study = ""  # the study workdir (required)
  c.inputs = ""  # same as study; the quickstart sets this one
  c.title = ""  # page title (default: "codelaw report: <study dir name>")
  c.ci_level = 0.95  # interval level of the bootstrap bands drawn around fitted curves
  c.dpi = 110  # resolution of the PNG figures
  return c
