"""
Denoising digits: PCA, KernelPCA and autoencoders
=================================================

scikit-learn's gallery denoises images with PCA and KernelPCA: fit on noisy
images, then reconstruct new noisy images from their code. The reconstruction
keeps what the model learnt to be structure and drops the rest, the noise.
Here the same protocol runs on the 8x8 digits, with two autoencoders of the
same code size as PCA: a plain one, and a denoising one (``noise="gaussian"``),
which is trained to reconstruct each training row from a copy corrupted a
second time, so it learns to remove noise rather than to copy it.

Every model is fitted with its defaults, on the same raw noisy pixels: the
autoencoder works in the input's own units by default, as PCA does.
"""

# %%
# Data: pixels in [0, 1], Gaussian noise of standard deviation 0.25 on 1000
# training digits and on the 797 held-out ones.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, KernelPCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from sklearn_ae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X = MinMaxScaler().fit_transform(X)
X_train, X_test = train_test_split(X, stratify=y, random_state=0, train_size=1000)
rng = np.random.RandomState(0)
X_train_noisy = X_train + rng.normal(scale=0.25, size=X_train.shape)
X_test_noisy = X_test + rng.normal(scale=0.25, size=X_test.shape)

# %%
# The models, all fitted on noisy digits only. KernelPCA's parameters are those
# of scikit-learn's gallery.
models = {
    "PCA": PCA(n_components=16),
    "KernelPCA": KernelPCA(
        n_components=400, kernel="rbf", gamma=1e-3, fit_inverse_transform=True, alpha=5e-3
    ),
    "autoencoder": AutoencoderTransformer(n_components=16, random_state=0),
    "denoising AE": AutoencoderTransformer(n_components=16, noise="gaussian", random_state=0),
}
denoised = {}
for name, model in models.items():
    model.fit(X_train_noisy)
    denoised[name] = model.inverse_transform(model.transform(X_test_noisy))
    error = np.mean((denoised[name] - X_test) ** 2)
    print(f"{name:>13}: mean squared error to the clean digits {error:.4f}")
print(
    f"{'noisy input':>13}: mean squared error to the clean digits "
    f"{np.mean((X_test_noisy - X_test) ** 2):.4f}"
)

# %%
# The clean digits, their noisy copies and each model's reconstruction.
rows = [("clean", X_test), ("noisy", X_test_noisy), *denoised.items()]
fig, axes = plt.subplots(len(rows), 10, figsize=(10, 7))
for (title, images), line in zip(rows, axes, strict=True):
    for image, ax in zip(images[:10], line, strict=True):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    line[0].set_ylabel(title, rotation=0, ha="right", va="center")
fig.suptitle("Reconstructing clean digits from noisy ones")
plt.show()
