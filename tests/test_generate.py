"""KV-cache generation: identical to recomputing the full forward; sampling options; stop strings."""

import jax
import numpy as np
import pytest
from flax import nnx
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from codelaw.evals import generate as gen
from codelaw.model import decoder
from codelaw.model.config import ModelConfig

CFG = ModelConfig(d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=64, vocab_size=64)


@pytest.fixture(scope="module")
def model():
  return decoder.build(CFG, seed=1)


def test_cached_greedy_matches_full_recompute(model):
  prompts = [[5, 9, 2, 7, 7, 30], [11, 3], [40, 41, 42, 43]]
  out = gen.generate_tokens(model, prompts, max_new_tokens=6, return_logits=True)
  graphdef, state = nnx.split(model)
  forward = jax.jit(lambda i, p, s: nnx.merge(graphdef, state)(i, p, s))
  for prompt, tokens, logits in zip(prompts, out.tokens, out.logits):
    assert len(tokens) == 6
    seq = list(prompt)
    for t in range(6):
      # Full forward over prompt + generated tokens, padded to a fixed length (segment 0 = padding).
      length = 16
      inputs = np.zeros((1, length), np.int32)
      inputs[0, : len(seq)] = seq
      seg = (np.arange(length) < len(seq)).astype(np.int32)[None]
      pos = np.arange(length, dtype=np.int32)[None]
      full = np.asarray(forward(inputs, pos, seg))[0, len(seq) - 1]
      np.testing.assert_allclose(logits[t], full, rtol=1e-4, atol=1e-5)
      assert tokens[t] == int(np.argmax(full))
      seq.append(tokens[t])


def test_sampling_options(model):
  prompts = [[1, 2, 3], [4, 5]]
  greedy = gen.generate_tokens(model, prompts, max_new_tokens=5).tokens
  # A tiny nucleus keeps only the most likely token: sampling becomes greedy.
  assert gen.generate_tokens(model, prompts, max_new_tokens=5, temperature=1.0, top_p=1e-6, seed=3).tokens == greedy
  a = gen.generate_tokens(model, prompts, max_new_tokens=8, temperature=5.0, seed=7).tokens
  b = gen.generate_tokens(model, prompts, max_new_tokens=8, temperature=5.0, seed=7).tokens
  c = gen.generate_tokens(model, prompts, max_new_tokens=8, temperature=5.0, seed=8).tokens
  assert a == b and a != c
  eos = greedy[0][2]
  stopped = gen.generate_tokens(model, prompts, max_new_tokens=5, eos_id=eos).tokens
  assert stopped[0] == greedy[0][: greedy[0].index(eos)]


def _char_tokenizer():
  alphabet = [chr(c) for c in range(32, 32 + CFG.vocab_size)]
  tok = Tokenizer(models.WordLevel({ch: i for i, ch in enumerate(alphabet)}, unk_token=" "))
  tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
  tok.decoder = decoders.Fuse()
  return tok


def test_text_generation_with_per_prompt_stop_strings(model):
  tok = _char_tokenizer()
  prompts = ["def f(x):", "ABCD"]
  full = gen.generate(model, tok, prompts, max_new_tokens=12)
  assert all(len(t) == 12 for t in full)
  stop_a = full[0][3:5]  # a string the greedy continuation is known to contain
  stops = [[stop_a, "never-appears"], []]
  cut = gen.generate(model, tok, prompts, max_new_tokens=12, stop=stops)
  assert cut[0] == full[0][: full[0].index(stop_a)]
  assert cut[1] == full[1]
