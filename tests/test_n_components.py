"""``n_components`` as a fraction of variance, as PCA users write it."""

import pytest
from sklearn.datasets import load_digits, make_s_curve, make_swiss_roll
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer
from sklearn_ae._search import max_search_fits

# A tight fraction on a curved manifold needs training longer than the defaults
# stop at; smaller batches unroll the swiss roll from every seed we tried (0-4),
# where batches of 200 left some seeds just under 0.95.
LONGER = dict(learning_rate_init=3e-3, n_iter_no_change=50, max_iter=1000, batch_size=64)


def _pca_size(X, fraction):
    return PCA(n_components=fraction).fit(StandardScaler().fit_transform(X)).n_components_


@pytest.mark.parametrize("make", [make_swiss_roll, make_s_curve])
def test_manifold_keeps_95_percent_in_2_components_where_pca_needs_3(make):
    X = make(n_samples=3000, noise=0.05, random_state=0)[0]
    assert _pca_size(X, 0.95) == 3
    ae = AutoencoderTransformer(n_components=0.95, random_state=0, **LONGER).fit(X)
    assert ae.n_components_ == 2
    assert ae.retained_variance_ratio_ >= 0.95
    assert ae.n_components_scores_[2] == ae.retained_variance_ratio_
    assert ae.n_components_scores_[1] < 0.95
    assert ae.transform(X).shape == (3000, 2)
    assert len(ae.get_feature_names_out()) == 2


def test_digits_size_is_at_most_pcas_and_keeps_the_fraction_on_unseen_rows():
    X, _ = load_digits(return_X_y=True)
    X_fit, X_unseen = train_test_split(X, test_size=0.3, random_state=0)
    fraction = 0.7
    pca_size = _pca_size(X_fit, fraction)
    ae = AutoencoderTransformer(n_components=fraction, random_state=0).fit(X_fit)
    assert ae.n_components_ <= pca_size
    assert ae.n_components_ < pca_size  # the non-linear model needs fewer
    assert ae.retained_variance_ratio_ >= fraction
    # measured on rows used neither for training nor for the choice
    assert ae._retained_variance_ratio(X_unseen) >= fraction
    # the search costs about log2(PCA's size) + 1 fits
    assert len(ae.n_components_scores_) <= max_search_fits(pca_size)
    kept = [k for k, score in ae.n_components_scores_.items() if score >= fraction]
    assert min(kept) == ae.n_components_


def test_integer_n_components_reports_the_variance_kept():
    X, _ = load_digits(return_X_y=True)
    ae = AutoencoderTransformer(n_components=8, max_iter=20, random_state=0).fit(X)
    assert ae.n_components_scores_ is None
    pca = PCA(n_components=8).fit(StandardScaler().fit_transform(X))
    assert pca.explained_variance_ratio_.sum() < ae.retained_variance_ratio_ < 1


def test_grid_search_over_fractions_and_the_detector():
    X = make_swiss_roll(n_samples=600, noise=0.05, random_state=0)[0]
    search = GridSearchCV(
        AutoencoderTransformer(max_iter=30, random_state=0),
        {"n_components": [0.5, 0.99]},
        cv=2,
    ).fit(X)
    assert search.best_params_ == {"n_components": 0.99}
    assert search.best_estimator_.n_components_ >= 2

    detector = AutoencoderOutlierDetector(n_components=0.9, max_iter=30, random_state=0).fit(X)
    assert 1 <= detector.n_components_ <= 3
    assert detector.predict(X).shape == (600,)


def test_partial_fit_takes_pcas_size_on_the_first_chunk():
    X, _ = load_digits(return_X_y=True)
    ae = AutoencoderTransformer(n_components=0.8, random_state=0).partial_fit(X[:900])
    assert ae.n_components_ == _pca_size(X[:900], 0.8)
