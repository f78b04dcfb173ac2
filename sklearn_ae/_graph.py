"""The graph start: codes of a few dimensions from a neighbourhood graph of the rows.

PCA's start is the best linear code, and on a curved manifold (a swiss roll,
an S-curve) every linear code of its dimension folds the manifold onto
itself. Gradient descent from there, or from random weights, rarely unfolds
it: at two dimensions the reconstructions kept 0.92 to 0.95 of the held-out
variance of standardized swiss rolls and S-curves. The graph start first
computes geodesic coordinates of a sample of the training rows (Isomap:
shortest paths in the graph of each row's nearest neighbours, then classical
scaling; Tenenbaum, de Silva and Langford, *Science* 2000), then trains the
encoder to map those rows to their coordinates and the decoder to map the
coordinates back, before the usual training. The coordinates follow the
manifold, so the code starts unfolded.

A graph of ``_MAX_ROWS`` rows resolves a manifold only if it holds enough rows
along each of the manifold's dimensions: ``1000 ** (1 / k)`` is 32 for a code
of 2, 10 for 3, and under 6 for 4. The start is therefore tried for codes of
at most ``MAX_COMPONENTS`` dimensions only.
"""

import numpy as np
import scipy.linalg
import torch
from scipy.sparse.csgraph import connected_components, shortest_path
from scipy.spatial.distance import pdist
from sklearn.neighbors import kneighbors_graph

# The graph is built on at most this many training rows (shortest paths cost
# the square of it in memory, their computation more than that in time).
_MAX_ROWS = 1000

# Neighbours of each row in the graph, scikit-learn's Isomap default. More
# neighbours risk edges that short-cut between the layers of a rolled sheet:
# with 7, a swiss roll of 400 training rows kept 0.896 of its held-out
# variance where 5 kept 0.985 (seed 1).
_N_NEIGHBORS = 5

# The graph start is tried for codes of at most this many dimensions.
MAX_COMPONENTS = 3

# The module is fitted to the graph's coordinates only if they leave at most
# this share of the geodesic distances' variance unexplained that PCA's codes
# leave (Isomap's residual variance, 1 - r ** 2 between the geodesic distances
# and the codes' Euclidean distances). On 1000 standardized rows at k=2 the
# ratio was 0.41 for a swiss roll, 0.36 for an S-curve and 0.29 for digits,
# against 0.83 for a Gaussian blob, 0.97 for 100 Gaussian features and 0.6 to
# 0.96 for the ADBench files tried (magic, mnist, ALOI, cover): where the
# graph sees no curved manifold, the 800 fitting steps are not spent.
_MAX_RESIDUAL_RATIO = 0.5

# The encoder and decoder are fitted to the coordinates for this many epochs,
# in mini-batches of this many rows (800 steps on 1000 rows), at this multiple
# of the estimator's learning rate: a regression to fixed targets tolerates a
# larger step than training the whole autoencoder. On standardized swiss rolls
# and S-curves (2500 rows, seeds 0-3) the start kept 0.925 to 0.988 of the
# held-out variance at three times the rate, 0.905 to 0.988 at the rate
# itself, and the trained models 0.990 to 0.994 against 0.986 to 0.993.
_EPOCHS = 50
_BATCH_SIZE = 64
_LEARNING_RATE_FACTOR = 3.0


def sample_rows(rows, generator):
    """At most ``_MAX_ROWS`` rows drawn from ``rows`` (a ``_Rows`` view), as a tensor."""
    order = torch.randperm(len(rows), generator=generator)[:_MAX_ROWS]
    return rows.take(order)


def geodesic_codes(rows, reference):
    """Isomap coordinates of ``rows``, aligned with the codes ``reference`` of the same rows.

    Parameters
    ----------
    rows : ndarray of shape (n_rows, n_features)
        The rows, standardized.
    reference : ndarray of shape (n_rows, n_components)
        Their codes at the start (PCA's).

    Returns
    -------
    codes : ndarray of shape (n_rows, n_components) or None
        Coordinates with the spread of ``reference`` along each axis, rotated
        onto it (orthogonal Procrustes) so that the encoder's linear path
        stays close to them. None when the neighbourhood graph is not
        connected or has fewer rows than dimensions (it does not span a
        single manifold then), and when the coordinates preserve the
        geodesic distances little better than ``reference`` does
        (``_MAX_RESIDUAL_RATIO``).
    """
    n_rows, n_components = reference.shape
    if n_rows <= max(_N_NEIGHBORS, 2 * n_components):
        return None
    graph = kneighbors_graph(rows, _N_NEIGHBORS, mode="distance")
    if connected_components(graph, directed=False)[0] > 1:
        return None
    distances = shortest_path(graph, method="D", directed=False)
    # classical scaling of the geodesic distances: the top eigenvectors of the
    # double-centred matrix of squared distances
    kernel = -0.5 * distances**2
    kernel -= kernel.mean(axis=0)
    kernel -= kernel.mean(axis=1, keepdims=True)
    top = (n_rows - n_components, n_rows - 1)
    values, vectors = scipy.linalg.eigh(kernel, subset_by_index=top)
    codes = vectors[:, ::-1] * np.sqrt(np.maximum(values[::-1], 0.0))
    spread = codes.std(axis=0)
    if not np.all(spread > 0):
        return None
    geodesic = distances[np.triu_indices(n_rows, 1)]  # the order of pdist's pairs
    if _residual_variance(geodesic, codes) > _MAX_RESIDUAL_RATIO * _residual_variance(
        geodesic, reference
    ):
        return None
    centre = reference.mean(axis=0)
    codes = (codes - codes.mean(axis=0)) / spread * reference.std(axis=0)
    rotation = scipy.linalg.orthogonal_procrustes(codes, reference - centre)[0]
    return codes @ rotation + centre


def _residual_variance(geodesic, codes):
    """Isomap's residual variance: ``1 - r ** 2`` of geodesic and code distances."""
    r = np.corrcoef(geodesic, pdist(codes))[0, 1]
    return 1.0 - r**2


def fit_to_codes(module, rows, codes, *, learning_rate, weight_decay, generator, fused):
    """Train ``module``'s encoder to map ``rows`` to ``codes``, its decoder back.

    Adam with ``_LEARNING_RATE_FACTOR`` times ``learning_rate`` and the weight
    decay ``weight_decay``, ``_EPOCHS`` epochs of mini-batches of
    ``_BATCH_SIZE`` rows, shuffled by ``generator``; ``fused`` selects
    torch's fused Adam, as the net's optimizer does. Both losses are mean
    squared errors, summed.
    """
    optimizer = torch.optim.Adam(
        module.parameters(),
        lr=_LEARNING_RATE_FACTOR * learning_rate,
        weight_decay=weight_decay,
        fused=fused or None,
    )
    module.train()
    for _ in range(_EPOCHS):
        order = torch.randperm(len(rows), generator=generator).to(rows.device)
        for batch in order.split(_BATCH_SIZE):
            x, z = rows[batch], codes[batch]
            loss = torch.mean((module.encode(x) - z) ** 2)
            loss = loss + torch.mean((module.decode(z) - x) ** 2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    module.eval()
