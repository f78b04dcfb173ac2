"""
Bringing your own PyTorch module
================================

``module=`` takes any ``torch.nn.Module`` class that defines ``encode`` and
``decode``. It is built at each ``fit`` as
``module(n_features=..., n_components=..., **module_params)``, and its extra
keyword arguments are hyper-parameters like any other:
``set_params(module__width=64)``, or a grid over ``module__width``.

If ``forward`` returns a pair ``(reconstruction, penalty)``, the penalty is
added to the training loss: here an optional penalty on the size of the codes,
whose weight is one more hyper-parameter.
"""

# %%
import pickle

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from torch import nn

from sklearn_ae import AutoencoderTransformer


class TanhAutoencoder(nn.Module):
    """One hidden layer of ``width`` tanh units on each side of the code."""

    def __init__(self, n_features, n_components, width=32, code_penalty=0.0):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(n_features, width), nn.Tanh(), nn.Linear(width, n_components)
        )
        self.decoder = nn.Sequential(
            nn.Linear(n_components, width), nn.Tanh(), nn.Linear(width, n_features)
        )
        self.code_penalty = code_penalty

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        code = self.encode(x)
        # an optional penalty added to the training loss: small codes
        return self.decode(code), self.code_penalty * code.square().mean()


# %%
# A grid search over the width of the hidden layers and the code size, on 600
# digits to stay quick.
X = load_digits().data[:600]
search = GridSearchCV(
    # a coarse stopping rule keeps the gallery fast: stop once more than 3
    # epochs in a row lower the validation loss by less than 1e-3
    AutoencoderTransformer(
        module=TanhAutoencoder,
        learning_rate_init=1e-2,
        tol=1e-3,
        n_iter_no_change=3,
        random_state=0,
    ),
    {"module__width": [8, 32, 128], "n_components": [4, 8]},
    cv=3,
).fit(X)
print("best parameters:", search.best_params_)

# %%
# The cross-validated score (minus the reconstruction error) of each setting.
results = search.cv_results_
fig, ax = plt.subplots(figsize=(6, 3.8))
for n_components in (4, 8):
    mask = results["param_n_components"] == n_components
    ax.plot(
        results["param_module__width"][mask].astype(int),
        -results["mean_test_score"][mask],
        marker="o",
        label=f"n_components={n_components}",
    )
ax.set_xscale("log", base=2)
ax.set_xlabel("module__width")
ax.set_ylabel("reconstruction error (CV)")
ax.set_title("Tuning a custom module with GridSearchCV")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# The fitted estimator pickles with its module (the class must be importable
# where it is loaded). A module *instance* is accepted too: it is deep-copied at
# each fit, so its weights are the starting point and are never changed.
best = pickle.loads(pickle.dumps(search.best_estimator_))
print("restored module:", type(best.net_.module_).__name__)
start = TanhAutoencoder(n_features=64, n_components=8, width=32)
weights = start.encoder[0].weight.clone()
# trained as in the search: the same step size and coarse stopping rule
model = AutoencoderTransformer(
    n_components=8,
    module=start,
    learning_rate_init=1e-2,
    tol=1e-3,
    n_iter_no_change=3,
    random_state=0,
)
model.fit(X)
print("instance left unchanged:", torch.equal(start.encoder[0].weight, weights))
print("fitted copy trained:", not torch.equal(model.net_.module_.encoder[0].weight, weights))
