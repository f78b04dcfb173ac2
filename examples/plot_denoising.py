"""
Denoising digits with a denoising autoencoder
=============================================

A denoising autoencoder is trained to reconstruct each clean row from a
corrupted copy of it (``noise="gaussian"`` or ``noise="mask"``). The corruption
is applied during training only; to denoise new rows, reconstruct them with
``inverse_transform(transform(X_noisy))``.

Here both a plain autoencoder and a denoising one, with the same code size, are
asked to clean noisy handwritten digits they have never seen.
"""

# %%
# Data: pixel intensities in [0, 1], and a noisy copy of the test digits.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklearn_ae import AutoencoderTransformer

# The fits below are kept short for the gallery: silence the warning that says so.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, _ = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
rng = np.random.RandomState(0)
X_noisy = X_test + 0.3 * rng.standard_normal(X_test.shape)

# %%
# Two autoencoders with a 16-dimensional code. ``standardize=False`` keeps the
# pixels in their own units, so ``noise_level`` is the standard deviation of the
# noise in pixel intensities: the same noise the test digits suffer.
params = dict(
    n_components=16, standardize=False, max_iter=40, early_stopping=False, random_state=0
)
plain = AutoencoderTransformer(**params).fit(X_train)
denoising = AutoencoderTransformer(noise="gaussian", noise_level=0.3, **params).fit(X_train)


def denoise(model, X):
    """Reconstruct rows of X: the model's estimate of the clean rows."""
    return model.inverse_transform(model.transform(X))


for name, model in [("plain", plain), ("denoising", denoising)]:
    error = np.mean((denoise(model, X_noisy) - X_test) ** 2)
    print(f"{name:>9} autoencoder: mean squared error to the clean digits {error:.4f}")
print(
    f"{'noisy':>9} input:       mean squared error to the clean digits "
    f"{np.mean((X_noisy - X_test) ** 2):.4f}"
)

# %%
# The noisy digits, the plain model's reconstructions and the denoised ones.
rows = [
    ("clean", X_test),
    ("noisy", X_noisy),
    ("plain AE", denoise(plain, X_noisy)),
    ("denoising AE", denoise(denoising, X_noisy)),
]
fig, axes = plt.subplots(len(rows), 10, figsize=(10, 4.6))
for (title, images), line in zip(rows, axes, strict=True):
    for image, ax in zip(images[:10], line, strict=True):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    line[0].set_ylabel(title, rotation=0, ha="right", va="center")
fig.suptitle("Reconstructing clean digits from noisy ones")
plt.show()
