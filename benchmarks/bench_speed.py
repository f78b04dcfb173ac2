"""Speed of sklearn_ae side by side with its baselines, in one process.

Every contender trains or infers on the same data in the same process; the
contenders alternate within each repetition (so a burst of load on a shared
machine hits all of them) and the table reports medians and ratios to a
hand-written PyTorch loop over the same module.

Training contenders (fixed number of epochs, early stopping off, same batch size):

- ``torch loop``: a hand-written PyTorch loop over shuffled tensor slices that
  trains the very module our estimator builds (same initial weights, same Adam
  settings, same seeded permutations);
- ``torch loop, fused Adam``: the same loop with ``Adam(fused=True)``, the
  optimizer our estimator uses where torch has it (CPU since torch 2.4, CUDA;
  under an older torch our estimator, and the ratios, use the plain loop);
- ``sklearn_ae``: ``AutoencoderTransformer.fit`` (validation, standardization,
  PCA initialisation and training included);
- ``skorch default``: a plain ``skorch.NeuralNet`` training the same module
  through skorch's default ``Dataset``/``DataLoader`` path;
- ``MLPRegressor``: scikit-learn's MLP fitted to reconstruct its input;
- ``PyOD AutoEncoder``: when PyOD is installed, with the same widths, batch size
  and epochs (batch norm and dropout off, so the network matches);
- ``PCA``: the linear reference.

A second table repeats the fit comparison for smaller networks (``--networks``):
how much faster than skorch's default path and PyOD training is depends on how
much of an epoch the data path takes next to the matrix products. Both tables
also time those float32 matrix products alone (``products``): a floor on any
implementation's fit time, so a baseline's time over it bounds the speed-up any
implementation can have over that baseline.

Inference contenders (``transform``, ``inverse_transform``, ``score_samples``) are
compared with a hand-written ``torch.inference_mode()`` pass of the same module
over the whole (standardized) tensor at once.

Run ``python benchmarks/bench_speed.py`` for the full benchmark (a few minutes on
two cores) or ``--quick`` for a smoke run of a few seconds. With matplotlib
installed, the script also saves plots of fit time versus the number of rows
and versus ``n_components``.
"""

import argparse
import copy
import gc
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_ae import AutoencoderTransformer  # noqa: E402
from sklearn_ae._base import _chunks  # noqa: E402
from sklearn_ae._net import _fused_adam  # noqa: E402
from sklearn_ae._pca import PrincipalAxes  # noqa: E402

LR = 1e-3
ALPHA = 1e-4
SEED = 0
FUSED = _fused_adam(torch.device("cpu"))  # the Adam our estimator uses here
SAME_ADAM = "torch loop, fused Adam" if FUSED else "torch loop"  # the loop to compare with


def make_data(n_samples, n_features, seed=0, dtype=np.float32):
    """Rows near a curved 5-dimensional manifold, plus noise."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_samples, 5))
    mixing = rng.normal(size=(10, n_features))
    features = np.hstack([latent, np.tanh(latent) ** 2])
    X = features @ mixing + 0.1 * rng.normal(size=(n_samples, n_features))
    return X.astype(dtype)


def timed(fn):
    """Wall time of ``fn()`` and its result."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def ours(n_components, epochs, batch_size, **params):
    """Our estimator, trained for exactly ``epochs`` epochs."""
    return AutoencoderTransformer(
        n_components,
        batch_size=batch_size,
        max_iter=epochs,
        n_iter_no_change=epochs,  # never stops early: a fixed number of epochs
        tol=0.0,
        early_stopping=False,  # every row trains, as in the hand-written loop
        learning_rate_init=LR,
        alpha=ALPHA,
        random_state=SEED,
        **params,
    )


def initial_module_and_data(X, n_components, batch_size, **params):
    """The module our estimator starts from, its seed and its standardized rows.

    A zero-epoch fit is impossible, so the module is built the way ``fit``
    builds it, from the same seed: the hand-written loop and skorch then train
    exactly what our estimator trains.
    """
    est = ours(n_components, 1, batch_size, **params)
    mean, var, _ = est._update_statistics(X, first_call=True)
    X_std = est._standardized(X, mean, est._scale(var), np.float32)
    seed = int(np.random.RandomState(SEED).randint(np.iinfo(np.int32).max))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        X_std = torch.from_numpy(X_std)
        chunks = _chunks(X_std, est._chunk_rows(X.shape[1]))  # as fit chunks them
        module = est._build_module(X.shape[1], n_components, lambda: PrincipalAxes(chunks))
    return module, seed, X_std


def torch_loop(module, X, epochs, batch_size, seed, fused=False):
    """A hand-written PyTorch training loop over seeded shuffled tensor slices."""
    optimizer = torch.optim.Adam(module.parameters(), lr=LR, weight_decay=ALPHA, fused=fused)
    generator = torch.Generator().manual_seed(seed)
    n = len(X)
    losses = []
    module.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        total = torch.zeros((), dtype=torch.float64)
        for start in range(0, n, batch_size):
            batch = X[order[start : start + batch_size]]
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(module(batch), batch)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(batch)
        losses.append(total.item() / n)
    module.eval()
    return losses


def skorch_default(module, X, epochs, batch_size):
    """A default skorch ``NeuralNet`` (its ``Dataset``/``DataLoader`` path)."""
    from skorch import NeuralNet

    net = NeuralNet(
        module,
        criterion=torch.nn.MSELoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        optimizer__weight_decay=ALPHA,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )
    X = X.numpy()
    return net.fit(X, X)


def mlp_regressor(X, n_components, hidden, epochs, batch_size):
    """scikit-learn's ``MLPRegressor`` fitted to reconstruct its input."""
    mlp = MLPRegressor(
        hidden_layer_sizes=(*hidden, n_components, *hidden[::-1]),
        batch_size=batch_size,
        max_iter=epochs,
        learning_rate_init=LR,
        alpha=ALPHA,
        tol=0.0,
        n_iter_no_change=epochs,
        random_state=SEED,
    )
    return mlp.fit(X, X)


def pyod_autoencoder(X, n_components, hidden, epochs, batch_size):
    """PyOD's ``AutoEncoder`` with the same widths, epochs and batch size."""
    from pyod.models.auto_encoder import AutoEncoder

    model = AutoEncoder(
        hidden_neuron_list=[*hidden, n_components],
        epoch_num=epochs,
        batch_size=batch_size,
        lr=LR,
        optimizer_params={"weight_decay": ALPHA},
        batch_norm=False,
        dropout_rate=0.0,
        random_state=SEED,
        device="cpu",
        verbose=0,
    )
    return model.fit(X)


def have_pyod():
    try:
        import pyod.models.auto_encoder  # noqa: F401
    except ImportError:
        return False
    return True


def parse_hidden(spec):
    """``hidden_layer_sizes`` from ``"64,32"``; ``"linear"`` for none, ``"default"``."""
    if spec == "default":
        return None
    if spec == "linear":
        return ()
    return tuple(int(width) for width in spec.split(","))


def network_table(X, args, epochs, repeats, baselines, networks):
    """Fit times and speed-ups of ours against the fused loop, skorch and PyOD, by network."""
    lines = [
        f"fit by network size ({epochs} epochs; ratios of medians)",
        f"{'hidden_layer_sizes':<20}{'loop s':>8}{'ours s':>8}{'ours/loop':>11}"
        f"{'skorch/ours':>13}{'PyOD/ours':>11}{'products s':>12}{'skorch/products':>17}",
    ]
    for hidden in networks:
        rows, _ = bench_fit(
            X,
            args.n_components,
            epochs,
            args.batch_size,
            repeats,
            baselines & {"skorch", "pyod"},
            hidden_layer_sizes=hidden,
        )
        med = {name: statistics.median(times) for name, times in rows}
        floor = matrix_product_floor(
            X, args.n_components, epochs, args.batch_size, repeats, hidden_layer_sizes=hidden
        )
        loop, mine = med[SAME_ADAM], med["sklearn_ae"]
        skorch, pyod, skorch_floor = (
            f"{med[name] / below:.2f}" if name in med else "-"
            for name, below in [
                ("skorch default", mine),
                ("PyOD AutoEncoder", mine),
                ("skorch default", floor),
            ]
        )
        lines.append(
            f"{str(hidden):<20}{loop:>8.3f}{mine:>8.3f}{mine / loop:>11.2f}{skorch:>13}{pyod:>11}"
            f"{floor:>12.3f}{skorch_floor:>17}"
        )
    return "\n".join(lines)


def format_table(title, rows, reference):
    """Rows of (name, times) as a table of medians, spreads and ratios."""
    ref = statistics.median(dict(rows)[reference])
    lines = [
        title,
        f"{'contender':<22}{'median s':>10}{'min s':>9}{'max s':>9}{'ratio':>8}",
    ]
    for name, times in rows:
        med = statistics.median(times)
        lines.append(
            f"{name:<22}{med:>10.3f}{min(times):>9.3f}{max(times):>9.3f}{med / ref:>8.2f}"
        )
    return "\n".join(lines)


def bench_fit(X, n_components, epochs, batch_size, repeats, baselines, **params):
    """Median fit times of every contender, alternating within each repetition.

    ``params`` are passed to our estimator (e.g. ``hidden_layer_sizes``); the
    other contenders train the same network.
    """
    hidden = ours(n_components, 1, batch_size, **params)._hidden_layer_sizes(X.shape[1])
    module0, seed, X_std = initial_module_and_data(X, n_components, batch_size, **params)
    contenders = {
        "torch loop": lambda: torch_loop(copy.deepcopy(module0), X_std, epochs, batch_size, seed)
    }
    if FUSED:
        contenders["torch loop, fused Adam"] = lambda: torch_loop(
            copy.deepcopy(module0), X_std, epochs, batch_size, seed, fused=True
        )
    contenders["sklearn_ae"] = lambda: ours(n_components, epochs, batch_size, **params).fit(X)
    if "skorch" in baselines:
        contenders["skorch default"] = lambda: skorch_default(
            copy.deepcopy(module0), X_std, epochs, batch_size
        )
    if "mlp" in baselines:
        contenders["MLPRegressor"] = lambda: mlp_regressor(
            X, n_components, hidden, epochs, batch_size
        )
    if "pyod" in baselines and have_pyod():
        contenders["PyOD AutoEncoder"] = lambda: pyod_autoencoder(
            X, n_components, hidden, epochs, batch_size
        )
    contenders["PCA"] = lambda: PCA(n_components, random_state=SEED).fit(X)

    times = {name: [] for name in contenders}
    results = {}
    for _ in range(repeats):
        for name, fn in contenders.items():
            elapsed, results[name] = timed(fn)
            times[name].append(elapsed)
    return list(times.items()), results


def matrix_product_floor(X, n_components, epochs, batch_size, repeats, **params):
    """Seconds the matrix products of the training take alone, median of ``repeats``.

    Records the linear layers one training step of our module runs, then runs
    their products for every step of ``epochs`` epochs over ``len(X)`` rows: the
    forward product, the weight gradient and, where the layer's input needs one,
    the input gradient, in float32, with nothing else (no activation, loss,
    optimizer, shuffling or validation). Any float32 implementation training
    this module on this machine takes at least that long, so the time of a
    baseline divided by this floor bounds the speed-up any such implementation
    can have over it.
    """
    module, _, X_std = initial_module_and_data(X, n_components, batch_size, **params)
    layers = []
    hooks = [
        layer.register_forward_hook(lambda layer, args, _: layers.append((layer, args[0])))
        for layer in module.modules()
        if isinstance(layer, torch.nn.Linear)
    ]
    module(X_std[:batch_size])
    for hook in hooks:
        hook.remove()

    n_samples = len(X)
    steps = [batch_size] * (n_samples // batch_size) + [n_samples % batch_size] * bool(
        n_samples % batch_size
    )
    operands = {
        rows: [
            (
                torch.randn(rows, layer.in_features),
                layer.weight.detach(),
                layer.bias.detach(),
                torch.randn(rows, layer.out_features),
                inputs.requires_grad,
            )
            for layer, inputs in layers
        ]
        for rows in set(steps)
    }

    def products():
        for _ in range(epochs):
            for rows in steps:
                for inputs, weight, bias, grad, input_grad in operands[rows]:
                    torch.addmm(bias, inputs, weight.T)  # forward
                    torch.mm(grad.T, inputs)  # weight gradient
                    if input_grad:
                        torch.mm(grad, weight)  # gradient for the layer below

    return statistics.median(timed(products)[0] for _ in range(repeats))


def per_epoch_overhead(n_features, n_components, epochs, repeats):
    """Fixed cost per epoch of our net (fit loop, history, monitor), in seconds.

    Trains on a single batch per epoch, where the work per epoch is tiny, for 1
    and for ``epochs`` epochs; the growth per epoch of our fit minus that of the
    hand-written loop on the same module and batch is the overhead per epoch.
    """
    X = make_data(256, n_features, seed=1)
    module0, seed, X_std = initial_module_and_data(X, n_components, 256)
    times = {}
    for _ in range(repeats):
        for n_epochs in (1, epochs):
            key = ("loop", n_epochs)
            elapsed, _ = timed(
                lambda e=n_epochs: torch_loop(copy.deepcopy(module0), X_std, e, 256, seed, FUSED)
            )
            times.setdefault(key, []).append(elapsed)
            elapsed, _ = timed(lambda e=n_epochs: ours(n_components, e, 256).fit(X))
            times.setdefault(("ours", n_epochs), []).append(elapsed)
    med = {key: statistics.median(value) for key, value in times.items()}
    growth = {
        name: (med[(name, epochs)] - med[(name, 1)]) / (epochs - 1) for name in ("loop", "ours")
    }
    return growth["ours"] - growth["loop"], growth["loop"]


def bench_inference(X, est, repeats):
    """Median times of transform, inverse_transform and score_samples vs torch."""
    module = est.net_.module_.eval()
    mean = torch.as_tensor(est.mean_, dtype=torch.float32)
    scale = torch.as_tensor(est.scale_, dtype=torch.float32)
    codes = est.transform(X)

    def torch_encode():
        with torch.inference_mode():
            return module.encode((torch.from_numpy(X) - mean) / scale).numpy()

    def torch_decode():
        with torch.inference_mode():
            return (module.decode(torch.from_numpy(codes)) * scale + mean).numpy()

    def torch_score():
        with torch.inference_mode():
            x = (torch.from_numpy(X) - mean) / scale
            return (-((module(x) - x) ** 2).mean(dim=1)).double().numpy()

    pairs = {
        "transform": (torch_encode, lambda: est.transform(X)),
        "inverse_transform": (torch_decode, lambda: est.inverse_transform(codes)),
        "score_samples": (torch_score, lambda: est.score_samples(X)),
    }
    rows = []
    for name, (reference, ours_fn) in pairs.items():
        ref_times, our_times = [], []
        for _ in range(repeats):
            ref_times.append(timed(reference)[0])
            our_times.append(timed(ours_fn)[0])
        np.testing.assert_allclose(ours_fn(), reference(), rtol=1e-3, atol=1e-3)
        rows.append((name, ref_times, our_times))
    return rows


def peak_numpy_memory(fn):
    """Peak memory allocated through numpy (traced) while ``fn`` runs, in bytes."""
    tracemalloc.start()
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, result


def bench_scaling(X, values, fit_at, repeats):
    """Median fit times of ours, the torch loop and PCA for each value."""
    out = {"torch loop": [], "sklearn_ae": [], "PCA": []}
    for value in values:
        rows, _ = fit_at(value, repeats)
        for name, times in rows:
            if name in out:
                out[name].append(statistics.median(times))
    return out


def plot_scaling(path, xlabel, values, curves, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    for name, times in curves.items():
        ax.plot(values, times, marker="o", label=name)
    ax.set(xlabel=xlabel, ylabel="fit time (s)", title=title)
    ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (seconds)")
    parser.add_argument("--repeats", type=int, default=None, help="repetitions per contender")
    parser.add_argument("--rows", type=int, default=None, help="training rows")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--n-components", type=int, default=2)
    parser.add_argument(
        "--networks",
        default="64;16;linear",
        help="';'-separated networks for the table of speed-ups by network size: "
        "comma-separated hidden widths, 'linear' for none ('' to skip the table)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch and BLAS threads (default: all)"
    )
    parser.add_argument("--plots", default="benchmarks/figures", help="folder of the PNGs")
    parser.add_argument("--no-plots", action="store_true", help="skip the scaling plots")
    parser.add_argument(
        "--baselines",
        default="skorch,mlp,pyod",
        help="comma-separated slow baselines to include (skorch, mlp, pyod)",
    )
    args = parser.parse_args(argv)
    with threadpool_limits(limits=args.threads):
        run(args)


def run(args):
    """Run the benchmark described by the parsed command-line ``args``."""
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epochs, on purpose
    quick = args.quick
    rows = args.rows or (2_000 if quick else 50_000)
    epochs = args.epochs or (2 if quick else 5)
    repeats = args.repeats or (1 if quick else 5)
    infer_rows = 4 * rows
    baselines = set(filter(None, args.baselines.split(",")))

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"{rows} x {args.features} float32 rows, batch_size={args.batch_size}, "
        f"{epochs} epochs, n_components={args.n_components}, {repeats} repeats"
    )
    X = make_data(rows, args.features)

    # Training ------------------------------------------------------------------
    fit_rows, results = bench_fit(
        X, args.n_components, epochs, args.batch_size, repeats, baselines
    )
    print()
    print(format_table("fit, default network", fit_rows, "torch loop"))
    medians = {name: statistics.median(times) for name, times in fit_rows}
    same_ratio = medians["sklearn_ae"] / medians[SAME_ADAM]
    print(f"  sklearn_ae / torch loop with the same (fused) Adam: {same_ratio:.3f}")
    est = results["sklearn_ae"]
    module0, seed, X_std = initial_module_and_data(X, args.n_components, args.batch_size)
    print(f"  loss curve of sklearn_ae:  {np.round(est.loss_curve_, 6).tolist()}")
    for fused in (False, True) if FUSED else (False,):
        module = copy.deepcopy(module0)
        curve = torch_loop(module, X_std, epochs, args.batch_size, seed, fused=fused)
        gap = max(abs(a - b) / b for a, b in zip(est.loss_curve_, curve, strict=True))
        name = "torch loop, fused Adam" if fused else "torch loop"
        print(f"  {name + ':':<25}{np.round(curve, 6).tolist()}  max rel. difference {gap:.1e}")
    overhead_epochs = 20 if quick else 200
    overhead, epoch = per_epoch_overhead(
        args.features, args.n_components, overhead_epochs, repeats
    )
    print(
        f"per-epoch overhead of our net (fit loop, history, monitor): {1e6 * overhead:.0f} us "
        f"(a one-batch epoch of the torch loop: {1e6 * epoch:.0f} us)"
    )
    fixed = medians["sklearn_ae"] - medians[SAME_ADAM] - epochs * overhead
    print(
        f"fixed cost per fit (validation, statistics, float32 copy, PCA initialisation, "
        f"retained_variance_ratio_ pass): {1e3 * fixed:.0f} ms"
    )
    floor = matrix_product_floor(X, args.n_components, epochs, args.batch_size, repeats)
    print(
        f"matrix products alone of the same training (float32, nothing else): {floor:.3f} s; "
        + ", ".join(
            f"{name} / products {medians[name] / floor:.2f}"
            for name in ("sklearn_ae", "skorch default")
            if name in medians
        )
    )

    networks = [parse_hidden(spec) for spec in args.networks.split(";") if spec]
    if networks:
        print()
        print(network_table(X, args, epochs, repeats, baselines, networks))

    # Inference -----------------------------------------------------------------
    X_big = make_data(infer_rows, args.features, seed=2)
    print()
    print(f"inference on {infer_rows} x {args.features} float32 rows")
    print(f"{'method':<20}{'torch s':>9}{'ours s':>9}{'ratio':>8}")
    for name, ref_times, our_times in bench_inference(X_big, est, repeats):
        ref, mine = statistics.median(ref_times), statistics.median(our_times)
        print(f"{name:<20}{ref:>9.3f}{mine:>9.3f}{mine / ref:>8.2f}")
    for name, fn, out_bytes in [
        ("transform", lambda: est.transform(X_big), infer_rows * args.n_components * 4),
        ("score_samples", lambda: est.score_samples(X_big), infer_rows * 8),
    ]:
        peak, _ = peak_numpy_memory(fn)
        print(
            f"peak numpy memory of {name}: {peak / 2**20:.1f} MiB "
            f"(input {X_big.nbytes / 2**20:.0f} MiB, output {out_bytes / 2**20:.1f} MiB)"
        )

    # Cost growth ---------------------------------------------------------------
    if args.no_plots:
        return
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib not installed: no plots")
        return
    folder = Path(args.plots)
    folder.mkdir(parents=True, exist_ok=True)
    scaling_repeats = 1 if quick else 3
    row_values = [rows // 8, rows // 4, rows // 2, rows]
    X_rows = make_data(max(row_values), args.features, seed=3)
    curves = bench_scaling(
        X_rows,
        row_values,
        lambda n, r: bench_fit(X_rows[:n], args.n_components, epochs, args.batch_size, r, set()),
        scaling_repeats,
    )
    plot_scaling(
        folder / "fit_time_vs_rows.png",
        "rows",
        row_values,
        curves,
        f"fit, {epochs} epochs, {args.features} features",
    )
    component_values = [1, 2, 5, 10, 20, 50]
    n_comp_rows = rows // 4
    X_comp = X_rows[:n_comp_rows]
    curves = bench_scaling(
        X_comp,
        component_values,
        lambda k, r: bench_fit(X_comp, k, epochs, args.batch_size, r, set()),
        scaling_repeats,
    )
    plot_scaling(
        folder / "fit_time_vs_n_components.png",
        "n_components",
        component_values,
        curves,
        f"fit, {epochs} epochs, {n_comp_rows} rows",
    )
    print(f"\nplots saved in {folder}/")


if __name__ == "__main__":
    main()
