"""
================================================
Dimensionality reduction: autoencoder versus PCA
================================================

:class:`~sklearn_ae.AutoencoderTransformer` is a drop-in replacement for
:class:`~sklearn.decomposition.PCA`. Here both compress 8x8 images of
handwritten digits (64 pixels) into 8 numbers, and we compare how well each
restores images it never saw during training.

The autoencoder standardizes the pixels before encoding, so PCA gets the same
treatment through a :class:`~sklearn.preprocessing.StandardScaler`: both
models then see the same data, and both ``inverse_transform`` back to pixel
values.
"""

# %%
# Fit both models on the same training images
# -------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

n_components = 8
pca = make_pipeline(StandardScaler(), PCA(n_components=n_components)).fit(X_train)
autoencoder = AutoencoderTransformer(
    n_components=n_components, max_iter=150, early_stopping=True, random_state=0
).fit(X_train)

# %%
# Reconstruction error on held-out images
# ---------------------------------------
# ``transform`` followed by ``inverse_transform`` compresses and restores the
# images; both pipelines use the same two methods.


def restore(model, X):
    return model.inverse_transform(model.transform(X))


errors = {
    "PCA": np.mean((restore(pca, X_test) - X_test) ** 2),
    "Autoencoder": np.mean((restore(autoencoder, X_test) - X_test) ** 2),
}
for name, error in errors.items():
    print(f"{name:12s} mean squared error per pixel: {error:.2f}")
print(f"The autoencoder's error is {errors['Autoencoder'] / errors['PCA']:.0%} of PCA's.")

# %%
# Look at the restored digits
# ---------------------------
# Each column is one test image: the original on top, then what 8 numbers keep
# of it through PCA and through the autoencoder.

rows = {
    "original": X_test[:10],
    "PCA": restore(pca, X_test[:10]),
    "autoencoder": restore(autoencoder, X_test[:10]),
}
fig, axes = plt.subplots(3, 10, figsize=(10, 3.4))
for row_axes, (name, images) in zip(axes, rows.items(), strict=True):
    row_axes[0].set_ylabel(name, rotation=0, ha="right", va="center")
    for ax, image in zip(row_axes, images, strict=True):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
        ax.set(xticks=[], yticks=[])
fig.suptitle(f"Digits compressed to {n_components} numbers and restored")
fig.tight_layout()
plt.show()

# %%
# The autoencoder keeps more detail with the same code size because its
# encoder and decoder are non-linear. It started from PCA's solution (the
# default ``init="pca"``) and improved on it; ``early_stopping=True`` held out
# 10 % of the training images and kept the weights that restored those best.
