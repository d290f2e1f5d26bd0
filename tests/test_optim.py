"""Learning-rate schedules (cosine, WSD, explicit decay start), AdamW masking and clipping."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from codelaw.errors import UserError
from codelaw.train import optim

BASE = dict(peak_lr=1.0, warmup_steps=10, schedule="wsd", decay_fraction=0.2, min_lr_ratio=0.1)


def lrs(cfg, total, **kw):
  schedule = optim.make_schedule(cfg, total, **kw)
  return np.array([float(schedule(s)) for s in range(total + 1)])


def test_wsd_shape():
  lr = lrs(BASE, 100)
  np.testing.assert_allclose(lr[:10], np.arange(1, 11) / 10)  # linear warmup reaching the peak at step 9
  np.testing.assert_allclose(lr[10:81], 1.0)  # stable until the decay starts at step 80
  assert np.all(np.diff(lr[80:]) < 0)
  assert lr[100] == pytest.approx(0.1) and lr[90] == pytest.approx(0.55)


def test_wsd_explicit_decay_start_branches_off_stable_run():
  stable = lrs(BASE, 1000, decay_start_step=1000)
  branch = lrs(BASE, 300, decay_start_step=250)
  np.testing.assert_allclose(branch[:251], stable[:251])  # identical until the branch point
  assert branch[300] == pytest.approx(0.1) and branch[275] == pytest.approx(0.55)
  with pytest.raises(UserError):
    optim.make_schedule(BASE, 300, decay_start_step=400)


def test_cosine_shape():
  lr = lrs({**BASE, "schedule": "cosine"}, 110)
  assert lr[9] == pytest.approx(1.0)
  assert lr[60] == pytest.approx(0.1 + 0.9 * 0.5, rel=1e-5)  # half-way through the decay
  assert lr[110] == pytest.approx(0.1)
  assert np.all(np.diff(lr[10:]) <= 1e-7)


@pytest.mark.parametrize(
  "bad",
  [
    dict(peak_lr=0),
    dict(schedule="linear"),
    dict(warmup_steps=-1),
    dict(min_lr_ratio=2.0),
    dict(decay_fraction=1.5),
    dict(b2=1.5),
    dict(peak_lr="fast"),
  ],
)
def test_bad_values_raise_user_error(bad):
  with pytest.raises(UserError):  # each key is checked by the function that reads it
    optim.make_optimizer({**BASE, **bad})
    optim.make_schedule({**BASE, **bad}, 100)


def test_adamw_weight_decay_mask_clipping_and_the_rate_set_in_the_state():
  params = {"w": jnp.ones((4, 4)), "scale": jnp.ones((4,))}
  tx = optim.make_optimizer(dict(peak_lr=0.1, warmup_steps=0, weight_decay=0.5, grad_clip=1.0))
  state = tx.init(params)
  assert float(optax.tree_utils.tree_get(state, "learning_rate")) == pytest.approx(0.1)  # starts at the peak
  zero = jax.tree.map(jnp.zeros_like, params)
  updates, state = tx.update(zero, optim.with_learning_rate(state, jnp.float32(0.02)), params)
  # Zero gradients: only decoupled weight decay moves the matrix, by the rate set; the norm scale is not decayed.
  np.testing.assert_allclose(updates["w"], -0.02 * 0.5 * np.ones((4, 4)), rtol=1e-6)
  np.testing.assert_allclose(updates["scale"], 0.0)
  assert float(optax.tree_utils.tree_get(state, "learning_rate")) == pytest.approx(0.02)
  # Clipping: a huge gradient and the same gradient scaled to norm 1 give the same Adam moments.
  huge = {"w": 1e6 * jnp.arange(16.0).reshape(4, 4), "scale": jnp.ones((4,))}
  unit = jax.tree.map(lambda g: g / optax.global_norm(huge), huge)
  s1, s2 = tx.init(params), tx.init(params)
  _, s1 = tx.update(huge, s1, params)
  _, s2 = tx.update(unit, s2, params)
  for a, b in zip(jax.tree.leaves(s1), jax.tree.leaves(s2)):
    np.testing.assert_allclose(a, b, rtol=1e-5)
