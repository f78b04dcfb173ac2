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
import statistics
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import (
    MIB,
    SEED,
    Table,
    alternate,
    have_pyod,
    make_data,
    median_time,
    pyod_autoencoder,
)
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_ae import AutoencoderTransformer  # noqa: E402
from sklearn_ae._data import chunks_of  # noqa: E402
from sklearn_ae._net import _fused_adam  # noqa: E402
from sklearn_ae._pca import PrincipalAxes  # noqa: E402

LR = 1e-3
ALPHA = 1e-4
FUSED = _fused_adam(torch.device("cpu"))  # the Adam our estimator uses here
SAME_ADAM = "torch loop, fused Adam" if FUSED else "torch loop"  # the loop to compare with


def fixed_epochs(epochs, batch_size):
    """scikit-learn's names for the training all contenders share: ``epochs`` epochs."""
    return dict(
        batch_size=batch_size,
        max_iter=epochs,
        n_iter_no_change=epochs,  # never stops early: a fixed number of epochs
        tol=0.0,
        learning_rate_init=LR,
        alpha=ALPHA,
        random_state=SEED,
    )


def ours(n_components, epochs, batch_size, **params):
    """Our estimator, trained for exactly ``epochs`` epochs."""
    return AutoencoderTransformer(
        n_components,
        early_stopping=False,  # every row trains, as in the hand-written loop
        **fixed_epochs(epochs, batch_size),
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
        chunks = chunks_of(X_std, est._chunk_rows(X.shape[1]))  # as fit chunks them
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
    layers = (*hidden, n_components, *hidden[::-1])
    return MLPRegressor(hidden_layer_sizes=layers, **fixed_epochs(epochs, batch_size)).fit(X, X)


def pyod_same_network(X, n_components, hidden, epochs, batch_size):
    """PyOD's ``AutoEncoder`` with the same widths, epochs and batch size."""
    model = pyod_autoencoder(
        hidden_neuron_list=[*hidden, n_components],
        epoch_num=epochs,
        batch_size=batch_size,
        lr=LR,
        optimizer_params={"weight_decay": ALPHA},
        batch_norm=False,
        dropout_rate=0.0,
        device="cpu",
    )
    return model.fit(X)


def parse_hidden(spec):
    """``hidden_layer_sizes`` from ``"64,32"``; ``"linear"`` for none, ``"default"``."""
    if spec == "default":
        return None
    if spec == "linear":
        return ()
    return tuple(int(width) for width in spec.split(","))


def network_table(X, args, epochs, repeats, baselines, networks):
    """Fit times and speed-ups of ours against the fused loop, skorch and PyOD, by network."""
    table = Table(
        "hidden_layer_sizes:<20, loop s:>8.3f, ours s:>8.3f, ours/loop:>11.2f, "
        "skorch/ours:>13.2f, PyOD/ours:>11.2f, products s:>12.3f, skorch/products:>17.2f"
    )
    lines = [f"fit by network size ({epochs} epochs; ratios of medians)", table.header()]
    setup = (X, args.n_components, epochs, args.batch_size, repeats)
    for hidden in networks:
        times, _ = bench_fit(*setup, baselines & {"skorch", "pyod"}, hidden_layer_sizes=hidden)
        med = medians(times)
        floor = matrix_product_floor(*setup, hidden_layer_sizes=hidden)
        loop, mine = med[SAME_ADAM], med["sklearn_ae"]
        skorch, pyod = med.get("skorch default"), med.get("PyOD AutoEncoder")
        over = [None if t is None else t / below for t, below in [(skorch, mine), (pyod, mine)]]
        floor_ratio = None if skorch is None else skorch / floor
        lines.append(table.row(str(hidden), loop, mine, mine / loop, *over, floor, floor_ratio))
    return "\n".join(lines)


def medians(times):
    """``{name: median}`` of ``{name: [seconds]}``."""
    return {name: statistics.median(values) for name, values in times.items()}


def format_table(title, times, reference):
    """``{name: [seconds]}`` as a table of medians, spreads and ratios to ``reference``."""
    table = Table("contender:<22, median s:>10.3f, min s:>9.3f, max s:>9.3f, ratio:>8.2f")
    med, ref = medians(times), statistics.median(times[reference])
    rows = [
        table.row(name, med[name], min(t), max(t), med[name] / ref) for name, t in times.items()
    ]
    return "\n".join([title, table.header(), *rows])


def bench_fit(X, n_components, epochs, batch_size, repeats, baselines, **params):
    """Fit times (``{name: [seconds]}``) and last fits of every contender, alternating.

    ``params`` are passed to our estimator (e.g. ``hidden_layer_sizes``); the
    other contenders train the same network. The loops' results are their loss curves.
    """
    hidden = ours(n_components, 1, batch_size, **params)._hidden_layer_sizes(X.shape[1])
    module0, seed, X_std = initial_module_and_data(X, n_components, batch_size, **params)

    def loop(fused=False):
        return torch_loop(copy.deepcopy(module0), X_std, epochs, batch_size, seed, fused=fused)

    contenders = {"torch loop": loop}
    if FUSED:
        contenders["torch loop, fused Adam"] = lambda: loop(fused=True)
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
        contenders["PyOD AutoEncoder"] = lambda: pyod_same_network(
            X, n_components, hidden, epochs, batch_size
        )
    contenders["PCA"] = lambda: PCA(n_components, random_state=SEED).fit(X)
    return alternate(contenders, repeats)


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
    steps = [min(batch_size, n_samples - start) for start in range(0, n_samples, batch_size)]
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

    return median_time(products, repeats)


def per_epoch_overhead(n_features, n_components, epochs, repeats):
    """Fixed cost per epoch of our net (fit loop, history, monitor), in seconds.

    Trains on a single batch per epoch, where the work per epoch is tiny, for 1
    and for ``epochs`` epochs; the growth per epoch of our fit minus that of the
    hand-written loop on the same module and batch is the overhead per epoch.
    """
    X = make_data(256, n_features, seed=1)
    module0, seed, X_std = initial_module_and_data(X, n_components, 256)
    contenders = {}
    for e in (1, epochs):
        contenders["loop", e] = lambda e=e: torch_loop(
            copy.deepcopy(module0), X_std, e, 256, seed, FUSED
        )
        contenders["ours", e] = lambda e=e: ours(n_components, e, 256).fit(X)
    med = medians(alternate(contenders, repeats)[0])
    growth = {
        name: (med[(name, epochs)] - med[(name, 1)]) / (epochs - 1) for name in ("loop", "ours")
    }
    return growth["ours"] - growth["loop"], growth["loop"]


def bench_inference(X, est, repeats):
    """Median times of torch and ours for transform, inverse_transform, score_samples."""
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
        times, results = alternate({"torch": reference, "ours": ours_fn}, repeats)
        np.testing.assert_allclose(results["ours"], results["torch"], rtol=1e-3, atol=1e-3)
        rows.append((name, *medians(times).values()))
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


def plot_scaling(path, xlabel, values, curves, title):
    """Save a plot of the fit time of each of ``curves`` against ``values``."""
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
    setup = (X, args.n_components, epochs, args.batch_size, repeats)
    times, results = bench_fit(*setup, baselines)
    print()
    print(format_table("fit, default network", times, "torch loop"))
    med = medians(times)
    same_ratio = med["sklearn_ae"] / med[SAME_ADAM]
    print(f"  sklearn_ae / torch loop with the same (fused) Adam: {same_ratio:.3f}")
    est = results["sklearn_ae"]
    print(f"  loss curve of sklearn_ae:  {np.round(est.loss_curve_, 6).tolist()}")
    for name in ("torch loop", "torch loop, fused Adam")[: 1 + FUSED]:
        curve = results[name]
        gap = max(abs(a - b) / b for a, b in zip(est.loss_curve_, curve, strict=True))
        print(f"  {name + ':':<25}{np.round(curve, 6).tolist()}  max rel. difference {gap:.1e}")
    overhead_epochs = 20 if quick else 200
    overhead, epoch = per_epoch_overhead(
        args.features, args.n_components, overhead_epochs, repeats
    )
    print(
        f"per-epoch overhead of our net (fit loop, history, monitor): {1e6 * overhead:.0f} us "
        f"(a one-batch epoch of the torch loop: {1e6 * epoch:.0f} us)"
    )
    fixed = med["sklearn_ae"] - med[SAME_ADAM] - epochs * overhead
    print(
        f"fixed cost per fit (validation, statistics, float32 copy, PCA initialisation, "
        f"retained_variance_ratio_ pass): {1e3 * fixed:.0f} ms"
    )
    floor = matrix_product_floor(*setup)
    print(
        f"matrix products alone of the same training (float32, nothing else): {floor:.3f} s; "
        + ", ".join(
            f"{name} / products {med[name] / floor:.2f}"
            for name in ("sklearn_ae", "skorch default")
            if name in med
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
    table = Table("method:<20, torch s:>9.3f, ours s:>9.3f, ratio:>8.2f")
    print(table.header())
    for name, ref, mine in bench_inference(X_big, est, repeats):
        print(table.row(name, ref, mine, mine / ref))
    for name, fn, out_bytes in [
        ("transform", lambda: est.transform(X_big), infer_rows * args.n_components * 4),
        ("score_samples", lambda: est.score_samples(X_big), infer_rows * 8),
    ]:
        peak, _ = peak_numpy_memory(fn)
        print(
            f"peak numpy memory of {name}: {peak / MIB:.1f} MiB "
            f"(input {X_big.nbytes / MIB:.0f} MiB, output {out_bytes / MIB:.1f} MiB)"
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

    def curves(fits):  # median fit times of the loop, ours and PCA at each (X, n_components)
        out = {"torch loop": [], "sklearn_ae": [], "PCA": []}
        for X_fit, k in fits:
            times, _ = bench_fit(X_fit, k, epochs, args.batch_size, 1 if quick else 3, set())
            for name, curve in out.items():
                curve.append(statistics.median(times[name]))
        return out

    row_values = [rows // 8, rows // 4, rows // 2, rows]
    X_rows = make_data(max(row_values), args.features, seed=3)
    by_rows = curves([(X_rows[:n], args.n_components) for n in row_values])
    title = f"fit, {epochs} epochs, {args.features} features"
    plot_scaling(folder / "fit_time_vs_rows.png", "rows", row_values, by_rows, title)
    component_values = [1, 2, 5, 10, 20, 50]
    n_comp_rows = rows // 4
    by_components = curves([(X_rows[:n_comp_rows], k) for k in component_values])
    title = f"fit, {epochs} epochs, {n_comp_rows} rows"
    path = folder / "fit_time_vs_n_components.png"
    plot_scaling(path, "n_components", component_values, by_components, title)
    print(f"\nplots saved in {folder}/")


if __name__ == "__main__":
    main()
