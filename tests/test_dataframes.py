"""pandas and polars: feature names are kept, and ``set_output`` returns DataFrames."""

import warnings

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer

FAST = dict(n_components=2, hidden_layer_sizes=(8,), max_iter=5, batch_size=32, random_state=0)
ESTIMATORS = [AutoencoderTransformer, AutoencoderOutlierDetector]
COLUMNS = ["age", "income", "height", "weight", "score"]


@pytest.fixture(params=["pandas", "polars"])
def lib(request):
    return pytest.importorskip(request.param)


def _skip_unless_scikit_learn_reads_columns(lib):
    """Skip where scikit-learn itself loses the column names (PCA as well).

    scikit-learn before narwhals read polars through the dataframe interchange
    protocol, which polars 2 dropped.
    """
    if not hasattr(PCA(1).fit(lib.DataFrame({"a": [0.0, 1.0]})), "feature_names_in_"):
        pytest.skip(f"this scikit-learn does not read {lib.__name__} column names")


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(80, 2)) @ rng.normal(size=(2, len(COLUMNS))) + 3


def _frame(lib, X, columns=COLUMNS):
    return lib.DataFrame({name: X[:, i] for i, name in enumerate(columns)})


def _to_numpy(frame):
    return frame.to_numpy()


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_dataframe_input_keeps_feature_names(Estimator, lib, X):
    _skip_unless_scikit_learn_reads_columns(lib)
    df = _frame(lib, X)
    est = Estimator(**FAST).fit(df)
    np.testing.assert_array_equal(est.feature_names_in_, COLUMNS)
    assert est.feature_names_in_.dtype == object
    prefix = Estimator.__name__.lower()
    assert est.get_feature_names_out().tolist() == [f"{prefix}0", f"{prefix}1"]
    # A DataFrame is read as the array it holds: same model, same codes.
    from_array = Estimator(**FAST).fit(_to_numpy(df))
    np.testing.assert_array_equal(est.transform(df), from_array.transform(X))
    np.testing.assert_array_equal(est.score_samples(df), from_array.score_samples(X))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_columns_must_match_those_seen_in_fit(Estimator, lib, X):
    _skip_unless_scikit_learn_reads_columns(lib)
    est = Estimator(**FAST).fit(_frame(lib, X))
    with pytest.raises(ValueError, match="feature names should match"):
        est.transform(_frame(lib, X, columns=COLUMNS[::-1]))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        est.transform(X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_set_output_returns_dataframes(Estimator, lib, X):
    est = Estimator(**FAST).set_output(transform=lib.__name__)
    df = _frame(lib, X)
    codes = est.fit_transform(df)
    assert isinstance(codes, lib.DataFrame)
    assert list(codes.columns) == est.get_feature_names_out().tolist()
    est.set_output(transform="default")
    np.testing.assert_array_equal(_to_numpy(codes), est.transform(df))
    est.set_output(transform=lib.__name__)
    assert isinstance(est.transform(df), lib.DataFrame)
    if lib.__name__ == "pandas":  # pandas output keeps the input's index
        df.index = [f"row {i}" for i in range(len(df))]
        assert est.transform(df).index.tolist() == df.index.tolist()


def test_output_dtype_follows_pca(lib, X):
    """float32 pandas columns give float32 codes. scikit-learn's validation reads
    polars columns as float64 (``PCA`` returns float64 for them too)."""
    df = _frame(lib, X.astype(np.float32))
    est = AutoencoderTransformer(**FAST).set_output(transform=lib.__name__)
    codes = _to_numpy(est.fit_transform(df))
    assert codes.dtype == PCA(n_components=2).fit_transform(df).dtype
    if lib.__name__ == "pandas":
        assert codes.dtype == np.float32


def test_inverse_transform_accepts_dataframe_codes(lib, X):
    est = AutoencoderTransformer(**FAST).set_output(transform=lib.__name__).fit(_frame(lib, X))
    codes = est.transform(_frame(lib, X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. torch's about the read-only arrays of polars
        reconstruction = est.inverse_transform(codes)
    assert reconstruction.shape == X.shape
    np.testing.assert_array_equal(reconstruction, est.inverse_transform(_to_numpy(codes)))


def test_in_a_column_transformer_pipeline(lib, X):
    """Feature names flow through a ColumnTransformer and a Pipeline."""
    _skip_unless_scikit_learn_reads_columns(lib)
    df = _frame(lib, X)
    model = make_pipeline(
        ColumnTransformer(
            [("body", AutoencoderTransformer(**FAST), ["height", "weight", "score"])],
            remainder=StandardScaler(),
        ),
        StandardScaler(),
    ).set_output(transform=lib.__name__)
    out = model.fit_transform(df)
    assert isinstance(out, lib.DataFrame)
    assert list(out.columns) == [
        "body__autoencodertransformer0",
        "body__autoencodertransformer1",
        "remainder__age",
        "remainder__income",
    ]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_read_only_input_warns_nothing(Estimator, X):
    """Read-only arrays (from polars, or memory-mapped) are copied before torch sees them."""
    est = Estimator(**FAST).fit(X)
    X_read_only = X.copy()
    X_read_only.setflags(write=False)
    codes = est.transform(X_read_only)
    codes.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.score_samples(X_read_only)
        if hasattr(est, "inverse_transform"):
            est.inverse_transform(codes)
