"""Choice of the code size for ``n_components`` given as a fraction of variance."""

import math

import torch
from sklearn.base import clone
from sklearn.model_selection import train_test_split

# At least this share of the rows judges the sizes: a small validation set makes
# the smallest qualifying size an optimistic choice.
_MIN_SEARCH_FRACTION = 0.25


def search_n_components(estimator, X, seed):
    """Fit ``estimator`` at the smallest code size keeping ``n_components`` of the variance.

    The rows are split once into training and validation rows
    (``validation_fraction``, at least a quarter). A size ``k`` qualifies when
    a model fitted on the training rows keeps at least the fraction
    ``estimator.n_components`` of the variance of the validation rows, in the
    units the estimator trains in (see ``standardize``: with the default
    ``"global"`` these are the input's own units, as ``PCA`` measures them).
    The sizes tried never exceed PCA's size for the same fraction on all of
    ``X``: the built-in model starts at PCA's solution, so it usually
    qualifies there, and when it does not, PCA's size is kept (PCA would not
    keep the fraction of those rows either). Bisection below it costs about
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
    fitted, scores = {}, {}

    def qualifies(k):
        model = clone(estimator).set_params(n_components=k, random_state=seed, warm_start=False)
        model._fit(X_train, incremental=False)
        fitted[k] = model
        scores[k] = model._retained_variance_ratio(model._validate_rows(X_valid))
        return scores[k] >= fraction

    # PCA's size on all the rows, in the units the estimator trains in
    mean, var, _ = estimator._update_statistics(X, first_call=True)
    X_scaled = estimator._standardized_rows(X, mean, estimator._scale(var), torch.device("cpu"))
    high = estimator._principal_axes(X_scaled).n_components_for(fraction)
    high = min(high, *X_train.shape)  # no more than the training rows determine
    if not qualifies(high):
        return fitted[high], scores
    low = 0  # sizes <= low are known not to qualify
    while high - low > 1:
        middle = (low + high) // 2
        if qualifies(middle):
            high = middle
        else:
            low = middle
    return fitted[high], scores


def max_search_fits(pca_size):
    """Upper bound of the fits of a search that qualifies at PCA's size."""
    return 1 + math.ceil(math.log2(max(pca_size, 1)))
