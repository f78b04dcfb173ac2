"""
=======================
Choosing n_components
=======================

Three ways to choose the size of the code, side by side:

1. **PCA's rule** -- ``PCA(n_components=0.95)``: the fewest principal components
   that explain 95 % of the training variance.
2. **The same rule, non-linear** -- ``AutoencoderTransformer(n_components=0.95)``:
   the smallest code whose reconstruction keeps 95 % of the variance of held-out
   rows. On a curved manifold it needs fewer dimensions than PCA.
3. **A supervised grid search** -- when the codes feed a classifier, choose the
   size that classifies best: ``GridSearchCV`` over
   ``autoencodertransformer__n_components``.
"""

# %%
# The rule on a swiss roll
# ------------------------
# The swiss roll is a 2-D sheet rolled up in 3-D. PCA needs all three
# directions to keep 95 % of its variance; the autoencoder unrolls it and keeps
# 95 % in two (the default start, from a neighbourhood graph of the rows, lets it
# unroll the sheet). ``n_components_scores_`` holds the held-out variance kept by
# every size the search tried.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits, make_swiss_roll
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderTransformer

X_roll = make_swiss_roll(n_samples=800, noise=0.05, random_state=0)[0]
pca = PCA().fit(StandardScaler().fit_transform(X_roll))
pca_kept = np.cumsum(pca.explained_variance_ratio_)

# The graph start does most of the work; a coarse stopping rule keeps the search
# quick: training stops once more than 3 epochs in a row lower the validation
# loss by less than 1e-3.
ae = AutoencoderTransformer(n_components=0.95, tol=1e-3, n_iter_no_change=3, random_state=0)
ae.fit(X_roll)
print(f"PCA keeps 95 % with {np.searchsorted(pca_kept, 0.95) + 1} components")
print(f"the autoencoder keeps 95 % with {ae.n_components_}: {ae.n_components_scores_}")

# %%
# A supervised choice on digits
# -----------------------------
# When the codes feed a classifier, the variance kept is only a proxy: search
# the size that classifies best. ``GridSearchCV`` treats ``n_components`` like
# any hyper-parameter. To stay quick, the search runs on 300 digits with a
# coarse stopping rule: training stops once more than 3 epochs in a row lower
# the validation loss by less than 1e-3. Only the scores are needed here, so
# ``refit=False`` skips refitting the best pipeline on the 300 digits.
X, y = load_digits(return_X_y=True)
X, y = X[:300], y[:300]
autoencoder = AutoencoderTransformer(tol=1e-3, n_iter_no_change=3, random_state=0)
pipe = make_pipeline(autoencoder, LogisticRegression(max_iter=1000))
sizes = [2, 4, 8, 16]
grid = {"autoencodertransformer__n_components": sizes}
search = GridSearchCV(pipe, grid, cv=3, refit=False).fit(X, y)
print("best size for the classifier:", search.best_params_)

# %%
# The figure
# ----------
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
left.plot(range(1, 4), pca_kept, "o-", label="PCA (training variance)")
tried = sorted(ae.n_components_scores_)
left.plot(tried, [ae.n_components_scores_[k] for k in tried], "s-", label="autoencoder (held out)")
left.axhline(0.95, color="grey", linestyle="--", label="target 0.95")
left.set(xlabel="n_components", ylabel="fraction of variance kept", title="Swiss roll")
left.set_xticks([1, 2, 3])
left.legend()

right.plot(sizes, search.cv_results_["mean_test_score"], "o-")
right.set(
    xlabel="n_components",
    ylabel="cross-validated accuracy",
    title="Digits: supervised grid search",
    xscale="log",
)
right.set_xticks(sizes, [str(k) for k in sizes])
plt.show()
