"""Choice of the code size for ``n_components`` given as a fraction of variance."""

import math

import numpy as np
import torch
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from ._pca import PrincipalAxes
from ._sparse import issparse, mean_and_variance

# At least this share of the rows judges the sizes: a small validation set makes
# the smallest qualifying size an optimistic choice.
_MIN_SEARCH_FRACTION = 0.25


def search_n_components(estimator, X, seed):
    """Fit ``estimator`` at the smallest code size keeping ``n_components`` of the variance.

    The rows are split once into training and validation rows
    (``validation_fraction``, at least a quarter). A size ``k`` qualifies when
    a model fitted on the training rows keeps at least the fraction
    ``estimator.n_components`` of the variance of the validation rows
    (standardized units). PCA's size for the same fraction is the starting
    upper bound: the built-in model starts at PCA's solution, so it usually
    qualifies there; if not, the bound doubles, up to ``min(n_samples,
    n_features)`` of the training rows. Bisection below it then costs about
    ``log2(k) + 1`` fits in all.

    Parameters
    ----------
    estimator : AutoencoderTransformer or AutoencoderOutlierDetector
        The unfitted estimator; it is not modified.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Validated training rows.
    seed : int
        Seed of the split and of every fit.

    Returns
    -------
    best : estimator
        A clone fitted on the training rows at the chosen size.
    scores : dict
        Fraction of validation variance kept by each size tried, in order.
    """
    fraction = estimator.n_components
    X_train, X_valid = train_test_split(
        X, test_size=max(estimator.validation_fraction, _MIN_SEARCH_FRACTION), random_state=seed
    )
    largest = min(X_train.shape)  # the largest size the training rows admit
    fitted, scores = {}, {}

    def qualifies(k):
        model = clone(estimator).set_params(n_components=k, random_state=seed, warm_start=False)
        model._fit(X_train, incremental=False)
        fitted[k] = model
        scores[k] = model._retained_variance_ratio(model._validate_rows(X_valid))
        return scores[k] >= fraction

    if issparse(X_train):  # z-scored a chunk at a time, never densified whole
        mean, var, _ = mean_and_variance(X_train, 0.0, 0.0, 0)
        X_scaled = estimator._standardized_rows(
            X_train, mean, _nonzero(np.sqrt(var)), torch.device("cpu")
        )
        principal_axes = estimator._principal_axes(X_scaled)
    else:
        X_scaled = (X_train - X_train.mean(axis=0)) / _nonzero(X_train.std(axis=0))
        principal_axes = PrincipalAxes([torch.from_numpy(X_scaled)])
    high = min(principal_axes.n_components_for(fraction), largest)
    low = 0  # sizes <= low are known not to qualify
    while not qualifies(high) and high < largest:
        low, high = high, min(2 * high, largest)
    if scores[high] < fraction:  # no size qualifies: keep the best one
        return fitted[max(scores, key=scores.get)], scores
    while high - low > 1:
        middle = (low + high) // 2
        if qualifies(middle):
            high = middle
        else:
            low = middle
    return fitted[high], scores


def _nonzero(scale):
    return np.where(scale > 0, scale, 1.0)


def max_search_fits(pca_size):
    """Upper bound of the fits of a search that qualifies at PCA's size."""
    return 1 + math.ceil(math.log2(max(pca_size, 1)))
