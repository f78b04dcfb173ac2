"""
=========================================
Feature extraction for a classifier
=========================================

An autoencoder trained without labels turns each row into a few features
that a simple classifier can use. Because
:class:`~sklearn_ae.AutoencoderTransformer` is a scikit-learn transformer, it
goes into a :class:`~sklearn.pipeline.Pipeline` exactly where
:class:`~sklearn.decomposition.PCA` would, and ``n_components`` can be tuned
by :class:`~sklearn.model_selection.GridSearchCV` like any other parameter
(``autoencodertransformer__n_components``).

Here a logistic regression classifies handwritten digits from ``k`` features
extracted by PCA or by the autoencoder, for several ``k``. To stay quick, the
models learn from 600 digits and are scored on the other 1197.
"""

# %%
# Two pipelines that differ in one step
# -------------------------------------
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=600, stratify=y, random_state=0
)


def classifier():
    # the codes have no natural scale: standardize them for the classifier
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


sizes = [2, 4, 8, 16]
accuracy = {"PCA": [], "Autoencoder": []}
for k in sizes:
    pca = make_pipeline(StandardScaler(), PCA(n_components=k), classifier())
    # a coarse stopping rule keeps the gallery fast: stop once more than 3
    # epochs in a row lower the validation loss by less than 1e-3
    autoencoder = make_pipeline(
        AutoencoderTransformer(n_components=k, tol=1e-3, n_iter_no_change=3, random_state=0),
        classifier(),
    )
    for name, model in [("PCA", pca), ("Autoencoder", autoencoder)]:
        accuracy[name].append(model.fit(X_train, y_train).score(X_test, y_test))
    print(f"k={k:2d}", *(f"{name} {scores[-1]:.3f}" for name, scores in accuracy.items()))

all_pixels = classifier().fit(X_train, y_train).score(X_test, y_test)
print(f"all 64 pixels: {all_pixels:.3f}")

# %%
# Test accuracy against the number of features
# --------------------------------------------
# With few features the autoencoder's non-linear codes keep more of what
# distinguishes the digits; as ``k`` grows both approach the accuracy of the
# classifier on all 64 pixels.

fig, ax = plt.subplots()
for (name, scores), marker in zip(accuracy.items(), ["s", "o"], strict=True):
    ax.plot(sizes, scores, marker=marker, label=f"{name} features")
ax.axhline(all_pixels, color="black", linestyle=":", label="all 64 pixels")
ax.set(xscale="log", xticks=sizes, xticklabels=sizes)
ax.set(xlabel="number of features k", ylabel="test accuracy", title="Logistic regression")
ax.legend()
plt.show()
