"""Where corpus source code comes from: Debian (binary + source packages), PyPI, npm, CPython's stdlib, local dirs."""
