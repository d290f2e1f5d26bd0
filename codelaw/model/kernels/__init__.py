"""Fused attention kernels behind `codelaw.model.attention.attention`.

flash_attention: our Pallas flash attention (forward + dq/dkv backward kernels) for GPU (Triton lowering)
and, in interpret mode, any backend. tpu: the TPU route through jax's Pallas splash-attention kernels.
"""
