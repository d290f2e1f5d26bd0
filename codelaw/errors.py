"""User-facing errors: the launcher prints their message as one line and exits non-zero."""


class UserError(Exception):
  """Bad input from the user (config key, value, file). The message names what is wrong."""
