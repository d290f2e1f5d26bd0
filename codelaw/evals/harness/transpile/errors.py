"""The one way a problem fails to transpile."""


class Untranslatable(Exception):
  """The problem cannot be translated to a typed target (reason in the message)."""
