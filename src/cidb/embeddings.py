"""Deterministic stand-ins for a real embedding model, for the synthetic data and the benchmarks.

Real embeddings have a low intrinsic dimension: a corpus sits in clusters (topics) of a small
latent space that the model maps into its 1024 dimensions. So do these: points of a 64-dimensional
latent space, projected by one fixed matrix, plus a little noise, at unit length (cosine-ready).
Uniform noise in 1024 dimensions would make every point nearly equidistant, which no real corpus
is, and would make HNSW recall and the planner's choices meaningless.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DIM = 1024
LATENT_DIM = 64

Vectors = npt.NDArray[np.float32]


def projection(rng: np.random.Generator) -> Vectors:
    """The "model": one latent -> DIM matrix."""
    return rng.standard_normal((LATENT_DIM, DIM), dtype=np.float32)


def centres(rng: np.random.Generator, count: int) -> Vectors:
    """COUNT cluster (topic) centres in the latent space."""
    return rng.standard_normal((count, LATENT_DIM), dtype=np.float32)


def embed(
    latent: Vectors, matrix: Vectors, rng: np.random.Generator, noise: float = 0.05
) -> Vectors:
    """Unit vectors: LATENT points projected by MATRIX, plus NOISE in every dimension."""
    data: Vectors = latent @ matrix
    data += noise * rng.standard_normal(data.shape, dtype=np.float32)
    unit: Vectors = data / np.linalg.norm(data, axis=1, keepdims=True)
    return unit


def clustered(n: int, clusters: int, rng: np.random.Generator, spread: float = 0.5) -> Vectors:
    """N unit vectors around CLUSTERS random centres (SPREAD apart in the latent space)."""
    latent = centres(rng, clusters)[rng.integers(0, clusters, n)]
    latent += spread * rng.standard_normal((n, LATENT_DIM), dtype=np.float32)
    return embed(latent, projection(rng), rng)
