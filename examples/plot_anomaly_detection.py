"""
==============================================
Anomaly detection by reconstruction error
==============================================

:class:`~sklearn_ae.AutoencoderOutlierDetector` learns to reconstruct the
bulk of the data and flags the rows that do not fit it: rows it reconstructs
badly, and (with the default ``anomaly_score="likelihood"``) rows whose code
is far from the codes of the training rows. It follows the conventions of
:class:`~sklearn.ensemble.IsolationForest`: ``predict`` returns -1 for
outliers, ``score_samples`` is higher for normal rows and
``decision_function`` is negative for outliers.

The anomalies here are the hard kind for detectors that look at features
one by one: every value of an anomalous row is a value normal rows take, but
the combination breaks the structure that ties the features together.
"""

# %%
# Sensor-like data with structure-breaking anomalies
# --------------------------------------------------
# Twelve features are driven by two hidden angles through a non-linear map.
# An anomaly takes each of its features from a different normal row.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from sklearn_ae import AutoencoderOutlierDetector
from sklearn_ae.plotting import ReconstructionErrorDisplay

rng = np.random.RandomState(0)
mixing = rng.normal(size=(4, 12))


def make_data(n_normal, n_anomalies):
    angles = rng.uniform(-np.pi, np.pi, size=(n_normal + n_anomalies, 2))
    a, b = angles.T
    X = np.c_[np.sin(a), np.cos(a), np.sin(b), np.cos(b) * np.sin(a)] @ mixing
    X += 0.05 * rng.normal(size=X.shape)
    donors = rng.randint(n_normal, size=(n_anomalies, X.shape[1]))
    X[n_normal:] = X[donors, np.arange(X.shape[1])]
    return X, np.r_[np.zeros(n_normal, dtype=int), np.ones(n_anomalies, dtype=int)]


X_train, y_train = make_data(1000, 20)  # 2 % of the training rows are anomalies
X_test, y_test = make_data(500, 50)

# %%
# Fit the detector on the contaminated training rows
# --------------------------------------------------
# ``contamination=0.02`` says that about 2 % of the training rows are
# anomalies: the threshold ``offset_`` is set so that this share of them is
# flagged. The labels are not used for training.

detector = AutoencoderOutlierDetector(
    n_components=3, contamination=0.02, max_iter=100, random_state=0
)
detector.fit(X_train)

flagged = detector.predict(X_test) == -1
print(f"flagged {flagged.sum()} of {len(X_test)} test rows; ", end="")
print(f"{(flagged & (y_test == 1)).sum()} of the {y_test.sum()} anomalies are among them")

# %%
# Compare the ranking with an isolation forest
# --------------------------------------------
# The ROC AUC measures how well the scores rank anomalies above normal rows,
# whatever the threshold.

forest = IsolationForest(random_state=0).fit(X_train)
for name, model in [("autoencoder", detector), ("isolation forest", forest)]:
    auc = roc_auc_score(y_test, -model.score_samples(X_test))
    print(f"ROC AUC of the {name}: {auc:.3f}")

# %%
# Errors and threshold
# --------------------
# The histogram shows the anomaly scores of the test rows (``-score_samples``)
# by true label, and the dashed line the detector's threshold ``-offset_``: rows
# right of it are predicted -1. The score is a robust z-score: 0 is the
# median training row, and each unit a robust standard deviation. The right
# panel explains the worst row: its reconstruction error feature by feature.

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
ReconstructionErrorDisplay.from_estimator(detector, X_test, y_test, ax=left)
worst = np.argmin(detector.score_samples(X_test))
per_feature = detector.reconstruction_error(X_test[[worst]], per_feature=True)[0]
right.bar(np.arange(X_test.shape[1]), per_feature)
right.set(
    xlabel="feature",
    ylabel="squared error (standardized units)",
    title=f"Test row {worst} (label {y_test[worst]}), feature by feature",
)
fig.tight_layout()
plt.show()
