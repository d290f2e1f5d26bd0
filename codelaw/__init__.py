"""codelaw: language-aware scaling laws for code LLMs."""
