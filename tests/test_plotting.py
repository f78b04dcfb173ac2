"""Display classes: artists drawn, data and labels right, threshold at ``offset_``."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer
from sklearn_ae.plotting import (
    CompressionCurveDisplay,
    LatentSpaceDisplay,
    LossCurveDisplay,
    ReconstructionErrorDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FAST = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _quiet_fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 5 epochs
        return estimator.fit(X)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def contaminated():
    """Rows on 2 factors in 5 features, the first 8 rows pushed off them; labels 1/0."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 5)) + 0.05 * rng.normal(size=(200, 5))
    X[:8] += 3 * rng.normal(size=(8, 5))
    y = (np.arange(200) < 8).astype(int)
    return X, y


def test_loss_curve_display_without_validation(iris):
    X, _ = iris
    ae = _quiet_fit(AutoencoderTransformer(early_stopping=False, **FAST), X)
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(ae, ax=ax)
    assert display.ax_ is ax and display.figure_ is fig
    np.testing.assert_array_equal(display.line_.get_xdata(), np.arange(1, ae.n_iter_ + 1))
    np.testing.assert_allclose(display.line_.get_ydata(), ae.loss_curve_)
    assert display.validation_line_ is None
    assert ax.get_xlabel() == "Epoch"
    assert ax.get_ylabel() == "Loss (mean squared error)"
    assert ax.get_title() == "AutoencoderTransformer"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Training loss"]


def test_loss_curve_display_with_validation_and_options(iris):
    X, _ = iris
    ae = _quiet_fit(AutoencoderOutlierDetector(early_stopping=True, **FAST), X)
    display = LossCurveDisplay.from_estimator(
        ae, name="detector", log_scale=True, validation_line_kwargs={"c": "red"}
    )
    np.testing.assert_allclose(
        display.validation_line_.get_ydata(), -np.array(ae.validation_scores_)
    )
    assert display.validation_line_.get_color() == "red"
    assert display.ax_.get_yscale() == "log"
    assert display.ax_.get_title() == "detector"
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["Training loss", "Validation loss"]


def test_latent_space_display_with_class_labels(iris):
    X, y = iris
    ae = _quiet_fit(AutoencoderTransformer(n_components=3, **FAST), X)
    display = LatentSpaceDisplay.from_estimator(ae, X, load_iris().target_names[y])
    np.testing.assert_allclose(display.scatter_.get_offsets(), ae.transform(X)[:, :2])
    legend = [t.get_text() for t in display.legend_.get_texts()]
    assert legend == ["setosa", "versicolor", "virginica"]
    assert display.colorbar_ is None
    # each point is coloured by the index of its class
    np.testing.assert_array_equal(display.scatter_.get_array(), y)
    assert display.ax_.get_xlabel() == "autoencodertransformer0"
    assert display.ax_.get_ylabel() == "autoencodertransformer1"


def test_latent_space_display_continuous_target_and_chosen_components(iris):
    X, _ = iris
    ae = _quiet_fit(AutoencoderTransformer(n_components=3, **FAST), X)
    display = LatentSpaceDisplay.from_estimator(ae, X, X[:, 0], components=(2, 0))
    np.testing.assert_allclose(display.scatter_.get_offsets(), ae.transform(X)[:, [2, 0]])
    assert display.colorbar_ is not None and display.legend_ is None
    assert display.ax_.get_xlabel() == "autoencodertransformer2"
    plain = LatentSpaceDisplay.from_estimator(ae, X)
    assert plain.legend_ is None and plain.colorbar_ is None


def test_latent_space_display_needs_two_components(iris):
    X, _ = iris
    ae = _quiet_fit(AutoencoderTransformer(n_components=1, **FAST), X)
    with pytest.raises(ValueError, match="needs two components"):
        LatentSpaceDisplay.from_estimator(ae, X)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        LatentSpaceDisplay(codes=np.zeros((3, 1))).plot()


@pytest.mark.parametrize("anomaly_score", ["likelihood", "reconstruction"])
def test_reconstruction_error_display_threshold_at_offset(anomaly_score, contaminated):
    X, y = contaminated
    detector = AutoencoderOutlierDetector(contamination=0.05, anomaly_score=anomaly_score, **FAST)
    detector = _quiet_fit(detector, X)
    display = ReconstructionErrorDisplay.from_estimator(detector, X)
    line = display.threshold_line_
    assert line.get_xdata()[0] == line.get_xdata()[1] == -detector.offset_
    # the rows right of the line are exactly the predicted outliers
    np.testing.assert_array_equal(display.errors, -detector.score_samples(X))
    np.testing.assert_array_equal(display.errors > -detector.offset_, detector.predict(X) == -1)
    if anomaly_score == "reconstruction":
        np.testing.assert_allclose(display.errors, detector.reconstruction_error(X))
        assert display.ax_.get_xlabel() == "Reconstruction error (mean squared)"
    else:
        assert display.ax_.get_xlabel() == "Anomaly score (likelihood, -score_samples)"
    (hist,) = display.hists_
    assert sum(patch.get_height() for patch in hist) == len(X)
    assert display.ax_.get_ylabel() == "Number of rows"
    assert display.ax_.get_title() == "AutoencoderOutlierDetector"
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == [f"threshold {-detector.offset_:.3g}"]


def test_reconstruction_error_display_by_label_and_log_scale(contaminated):
    X, y = contaminated
    detector = _quiet_fit(AutoencoderOutlierDetector(**FAST), X)
    # the likelihood score is a z-score: a log axis would drop half the rows
    with pytest.raises(ValueError, match="log_scale=True needs positive errors"):
        ReconstructionErrorDisplay.from_estimator(detector, X, y, log_scale=True)
    detector = _quiet_fit(AutoencoderOutlierDetector(anomaly_score="reconstruction", **FAST), X)
    display = ReconstructionErrorDisplay.from_estimator(detector, X, y, log_scale=True, bins=20)
    counts = [sum(p.get_height() for p in hist) for hist in display.hists_]
    assert counts == [192, 8]
    assert all(len(hist) == 20 for hist in display.hists_)
    assert display.ax_.get_xscale() == "log"
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend[:2] == ["y = 0", "y = 1"]


def test_reconstruction_error_display_of_a_transformer_has_no_threshold(iris):
    X, _ = iris
    ae = _quiet_fit(AutoencoderTransformer(**FAST), X)
    display = ReconstructionErrorDisplay.from_estimator(ae, X)
    assert display.threshold_line_ is None
    np.testing.assert_allclose(display.errors, ae.reconstruction_error(X))
    assert display.ax_.get_legend() is None


def test_compression_curve_display_beside_pca(iris):
    X, _ = iris
    ae = AutoencoderTransformer(**FAST)
    sizes = [1, 2, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        display = CompressionCurveDisplay.from_estimator(ae, X, n_components=sizes)
    assert not hasattr(ae, "net_")  # the estimator passed in is not fitted
    assert display.line_.get_xdata().tolist() == sizes
    assert display.pca_line_.get_xdata().tolist() == sizes
    # PCA's errors, in the estimator's units: centred, one global scale
    X_std = (X - X.mean(axis=0)) / np.sqrt(X.var(axis=0).mean())
    expected = [
        np.mean((X_std - (p := PCA(k).fit(X_std)).inverse_transform(p.transform(X_std))) ** 2)
        for k in sizes
    ]
    np.testing.assert_allclose(display.pca_line_.get_ydata(), expected, rtol=1e-6)
    # started from PCA, the autoencoder is never worse
    assert np.all(np.asarray(display.errors) <= np.asarray(expected) * (1 + 1e-3))
    assert display.ax_.get_xlabel() == "n_components (code size)"
    assert display.ax_.get_ylabel() == "Reconstruction error (mean squared)"
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["AutoencoderTransformer", "PCA"]


def test_compression_curve_display_on_test_rows_without_pca(iris):
    X, _ = iris
    ae = AutoencoderOutlierDetector(standardize=False, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        display = CompressionCurveDisplay.from_estimator(
            ae, X[::2], n_components=[2], X_test=X[1::2], pca=False, name="AE"
        )
        expected = ae.set_params(n_components=2).fit(X[::2]).reconstruction_error(X[1::2])
    assert display.pca_line_ is None
    assert display.errors == pytest.approx([expected.mean()])
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == ["AE"]


@pytest.mark.parametrize(
    "build",
    [
        lambda ae, X: LossCurveDisplay.from_estimator(ae),
        lambda ae, X: LatentSpaceDisplay.from_estimator(ae, X),
        lambda ae, X: ReconstructionErrorDisplay.from_estimator(ae, X),
    ],
    ids=["loss", "latent", "errors"],
)
def test_displays_need_a_fitted_estimator(build, iris):
    with pytest.raises(NotFittedError):
        build(AutoencoderTransformer(), iris[0])


@pytest.mark.parametrize(
    "call",
    [
        lambda: LossCurveDisplay.from_estimator(AutoencoderTransformer()),
        lambda: LossCurveDisplay(loss_curve=[1.0]).plot(),
        lambda: LatentSpaceDisplay(codes=np.zeros((2, 2))).plot(),
        lambda: ReconstructionErrorDisplay(errors=[1.0]).plot(),
        lambda: CompressionCurveDisplay.from_estimator(
            AutoencoderTransformer(), np.zeros((5, 2)), n_components=[1]
        ),
    ],
    ids=["loss", "loss-plot", "latent-plot", "errors-plot", "compression"],
)
def test_missing_matplotlib_names_the_extra(call, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(ImportError, match=r"pip install sklearn_ae\[plot\]"):
        call()
