"""ONNX export: the exported graphs reproduce the estimators' outputs in onnxruntime."""

import sys

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer, to_onnx
from sklearn_ae.export import _MIN_TORCH_VERSION, _torch_version

BATCH_SIZES = (1, 7, 300)


@pytest.fixture(scope="module")
def onnxruntime():
    if _torch_version() < _MIN_TORCH_VERSION:
        pytest.skip("ONNX export needs torch>=" + ".".join(map(str, _MIN_TORCH_VERSION)))
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    return pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 7))
    # Features of very different scales around a large mean, one nearly constant:
    # float32 standardization alone would lose digits there.
    return (np.tanh(X) * [1e-2, 1, 2, 4, 8, 16, 64] + 100).astype(np.float32)


@pytest.fixture(scope="module")
def transformer(X):
    return AutoencoderTransformer(
        n_components=3, hidden_layer_sizes=(16,), activation="gelu", max_iter=20, random_state=0
    ).fit(X)


def _run(model, onnxruntime, rows):
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (name,) = [node.name for node in session.get_inputs()]
    return session.run(None, {name: rows})[0]


def _assert_parity(model, onnxruntime, inputs, expected):
    """The model's output matches ``expected`` for several numbers of rows."""
    for n in BATCH_SIZES:
        out = _run(model, onnxruntime, inputs[:n])
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, expected[:n], rtol=1e-5, atol=1e-5)


def test_encoder_matches_transform(transformer, X, onnxruntime, tmp_path):
    import onnx

    path = tmp_path / "encoder.onnx"
    model = to_onnx(transformer, "encoder", path=path)
    assert model.graph.output[0].name == "codes"
    _assert_parity(model, onnxruntime, X, transformer.transform(X))
    # The raw rows go in (the standardization is part of the graph), also once
    # saved and loaded; the float64 transform agrees up to float32 rounding,
    # amplified here by a nearly constant feature.
    _assert_parity(onnx.load(path), onnxruntime, X, transformer.transform(X))
    np.testing.assert_allclose(
        _run(model, onnxruntime, X),
        transformer.transform(X.astype(np.float64)),
        rtol=1e-3,
        atol=1e-3,
    )


def test_decoder_matches_inverse_transform(transformer, X, onnxruntime):
    codes = transformer.transform(X)
    model = to_onnx(transformer, "decoder")
    assert [node.name for node in model.graph.input] == ["codes"]
    _assert_parity(model, onnxruntime, codes, transformer.inverse_transform(codes))


def test_autoencoder_matches_the_reconstruction(transformer, X, onnxruntime):
    model = to_onnx(transformer, "autoencoder")
    expected = transformer.inverse_transform(transformer.transform(X))
    _assert_parity(model, onnxruntime, X, expected)


@pytest.mark.parametrize("anomaly_score", ["likelihood", "reconstruction"])
def test_detector_scores_match_score_samples(X, anomaly_score, onnxruntime):
    detector = AutoencoderOutlierDetector(
        n_components=2,
        anomaly_score=anomaly_score,
        hidden_layer_sizes=(8,),
        max_iter=10,
        random_state=0,
    ).fit(X)
    model = to_onnx(detector, "score_samples")
    _assert_parity(model, onnxruntime, X, detector.score_samples(X))
    # The threshold stays outside the graph: predictions follow from offset_.
    labels = np.where(_run(model, onnxruntime, X) < detector.offset_, -1, 1)
    assert np.mean(labels == detector.predict(X)) > 0.99


def test_detector_scores_match_with_residual_axes(X, onnxruntime):
    """Few rows per feature: the graph measures residuals along ``residual_axes_`` too."""
    X_few = X[:20].astype(np.float32)  # 20 rows of 7 features: 5 residual axes
    detector = AutoencoderOutlierDetector(hidden_layer_sizes=(8,), random_state=0).fit(X_few)
    assert detector.residual_axes_.shape == (5, 7)
    _assert_parity(to_onnx(detector, "score_samples"), onnxruntime, X, detector.score_samples(X))


def test_unfitted_or_unknown_part_raises(transformer):
    with pytest.raises(NotFittedError):
        to_onnx(AutoencoderTransformer(), "encoder")
    with pytest.raises(ValueError, match="part must be one of"):
        to_onnx(transformer, "bottleneck")
    with pytest.raises(ValueError, match="needs an AutoencoderOutlierDetector"):
        to_onnx(transformer, "score_samples")


def test_missing_onnx_says_what_to_install(transformer, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` fail
    monkeypatch.setattr(torch, "__version__", "2.5.0")  # a torch that can export
    with pytest.raises(ImportError, match="pip install onnx onnxscript onnxruntime"):
        to_onnx(transformer, "encoder")


def test_old_torch_says_which_it_needs(transformer, monkeypatch):
    monkeypatch.setattr(torch, "__version__", "2.4.1+cpu")
    with pytest.raises(ImportError, match=r"needs torch>=2\.5, found 2\.4\.1\+cpu"):
        to_onnx(transformer, "encoder")
