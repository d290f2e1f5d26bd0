"""Byte-level BPE: special ids, vocab size, exact round trip on code in every language, the job."""

import gzip
import json

import pytest

from codelaw.data import tokenizer
from codelaw.errors import UserError

SNIPPETS = {
  "python": "def f(x):\n    return {k: v ** 2 for k, v in x.items()}  # caf\u00e9\n",
  "rust": "fn main() {\n    let v: Vec<u8> = (0..10).collect();\n    println!(\"{:?} \u2192 ok\", v);\n}\n",
  "go": "package main\n\nfunc main() {\n\tfor i := range 10 {\n\t\t_ = i\n\t}\n}\n",
  "csharp": "public static class X { public static int Y => 42; }\r\n",
  "typescript": "export const id = <T,>(x: T): T => x;\n",
}


@pytest.fixture(scope="module")
def tok():
  texts = {lang: [s * 20] for lang, s in SNIPPETS.items()}
  return tokenizer.train_tokenizer(tokenizer.balanced_texts(texts, 10_000), vocab_size=400)


def test_special_tokens_and_vocab(tok):
  assert tok.token_to_id("<pad>") == 0 and tok.token_to_id("<eos>") == 1
  assert 258 <= tok.get_vocab_size() <= 400


def test_round_trip_is_exact(tok):
  for text in [
    *SNIPPETS.values(),
    "\t\t  \n\n",
    "x = '<eos>' + '<pad>'",
    "emoji \U0001f600 and \u4e2d\u6587",
    "\x00\x7f",
  ]:
    ids = tok.encode(text, add_special_tokens=False).ids
    assert tok.decode(ids) == text
    assert 0 not in ids and 1 not in ids  # text never produces the special ids


def test_compresses_code(tok):
  text = SNIPPETS["python"] * 5
  assert len(text.encode()) / len(tok.encode(text).ids) > 2.0


def test_save_load(tmp_path, tok):
  tokenizer.save_tokenizer(tok, tmp_path / "tokenizer.json")
  again = tokenizer.load_tokenizer(tmp_path)
  assert again.encode(SNIPPETS["go"]).ids == tok.encode(SNIPPETS["go"]).ids
  with pytest.raises(UserError):
    tokenizer.load_tokenizer(tmp_path / "missing.json")


def test_tiny_vocab_is_rejected():
  with pytest.raises(UserError, match="vocab_size"):
    tokenizer.train_tokenizer(["abc"], vocab_size=100)


def test_tokenizer_job(tmp_path):
  import ml_collections

  from codelaw import launch

  corpus = tmp_path / "corpus"
  for lang, s in SNIPPETS.items():
    (corpus / "text" / lang).mkdir(parents=True)
    with gzip.open(corpus / "text" / lang / "train.jsonl.gz", "wt") as f:
      for i in range(5):
        f.write(
          json.dumps(
            {"text": s * (i + 1), "package": "p", "version": "1", "source": "local", "path": f"f{i}", "license": "MIT"}
          )
          + "\n"
        )
  cfg = ml_collections.ConfigDict(
    dict(job="tokenizer", seed=0, corpus=str(corpus), languages=(), vocab_size=300, bytes_per_language=100_000)
  )
  launch.run(cfg, str(tmp_path / "out"))
  tok = tokenizer.load_tokenizer(tmp_path / "out" / "tokenizer.json")
  assert tok.get_vocab_size() <= 300
  cfg.corpus = str(tmp_path / "nope")
  with pytest.raises(UserError, match="config.corpus"):
    launch.run(cfg, str(tmp_path / "out2"))
