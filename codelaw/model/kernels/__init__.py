"""model/kernels."""
