"""TensorFlow's thread pools, set before its first op: how many cores one explaining process computes with.

Eigen's sums split over a pool's threads, so the thread count can move an attribution in its last digits
(1 thread against 2 moved 2 of 17 tiny-model examples by 1e-7; docs/scaling.md): equal counts give equal
bytes, whichever executor runs them.
"""
from __future__ import annotations


def limit_threads(count: int | None) -> None:
    """TensorFlow's intra- and inter-op pools set to `count` threads (None: TensorFlow's default, every core of
    the machine). Must run before TensorFlow's first op, which fixes the pools for the process."""
    if count is None:
        return
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(count)
    tf.config.threading.set_inter_op_parallelism_threads(count)
