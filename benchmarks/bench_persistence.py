"""Saved-model sizes, save/load times and ONNX parity on the digits data.

Run from the project root::

    SCIPY_ARRAY_API=1 python -m benchmarks.bench_persistence

Prints, for each way of saving, the file size and the median save and load
times (with the size of skorch's own pickle of the net for comparison), then
for each exported ONNX part the export time and the largest difference from
the estimator's output in onnxruntime over several batch sizes, absolute and
scaled (divided by max(1, abs(value))).
"""

import io
import pickle
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Table, median_time, timed  # noqa: E402

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer, to_onnx  # noqa: E402


def _savers():
    def joblib_dumps(est):
        buffer = io.BytesIO()
        joblib.dump(est, buffer)
        return buffer.getvalue()

    savers = {
        "pickle": (pickle.dumps, pickle.loads),
        "joblib": (joblib_dumps, lambda data: joblib.load(io.BytesIO(data))),
    }
    try:
        import skops.io as sio

        savers["skops"] = (
            sio.dumps,
            lambda data: sio.loads(data, trusted=sio.get_untrusted_types(data=data)),
        )
    except ImportError:
        pass
    return savers


def main():
    warnings.simplefilter("ignore")
    X, _ = load_digits(return_X_y=True)
    ae = AutoencoderTransformer(n_components=8, max_iter=30, random_state=0).fit(X)
    detector = AutoencoderOutlierDetector(n_components=8, max_iter=30, random_state=0).fit(X)
    n_weights = sum(p.numel() for p in ae.net_.module_.parameters())
    print(f"AutoencoderTransformer on digits: {n_weights} weights ({4 * n_weights} bytes)")
    print(f"skorch's own pickle of net_: {len(pickle.dumps(ae.net_))} bytes")
    table = Table("format:8s, bytes:>8d, save ms:>8.1f, load ms:>8.1f, identical:", sep=" ")
    print(table.header())
    for name, (dumps, loads) in _savers().items():
        data = dumps(ae)
        save = median_time(lambda dumps=dumps: dumps(ae))
        load = median_time(lambda loads=loads, data=data: loads(data))
        same = np.array_equal(loads(data).transform(X), ae.transform(X))
        print(table.row(name, len(data), 1e3 * save, 1e3 * load, same))

    try:
        import onnxruntime

        to_onnx(ae)  # needs onnx, onnxscript and a torch that exports
    except ImportError as exc:
        print(f"no ONNX figures: {exc}")
        return
    X32 = X.astype(np.float32)
    codes = ae.transform(X32)
    cases = {
        "encoder": (ae, X32, ae.transform(X32)),
        "decoder": (ae, codes, ae.inverse_transform(codes)),
        "autoencoder": (ae, X32, ae.inverse_transform(codes)),
        "score_samples": (detector, X32, detector.score_samples(X32)),
    }
    table = Table("part:14s, export s:>8.1f, max abs diff:>13.2e, scaled diff:>13.2e", sep=" ")
    print(table.header())
    for part, (est, inputs, expected) in cases.items():
        export, model = timed(to_onnx, est, part)
        session = onnxruntime.InferenceSession(model.SerializeToString())
        name = session.get_inputs()[0].name
        worst_abs = worst_rel = 0.0
        for n in (1, 2, 10, 100, len(inputs)):
            out = session.run(None, {name: inputs[:n]})[0]
            diff = np.abs(out - expected[:n])
            worst_abs = max(worst_abs, float(diff.max()))
            worst_rel = max(worst_rel, float((diff / np.maximum(np.abs(expected[:n]), 1)).max()))
        print(table.row(part, export, worst_abs, worst_rel))


if __name__ == "__main__":
    main()
