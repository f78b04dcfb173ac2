"""Sphinx configuration of the sklearn_ae documentation.

Build from the project root with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

which runs every example of the gallery and fails on any warning.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document the source tree, not an installed copy
os.environ.setdefault("MPLBACKEND", "Agg")

import sklearn_ae  # noqa: E402

project = "sklearn_ae"
author = "The sklearn_ae developers"
copyright = "The sklearn_ae developers"
version = release = sklearn_ae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "sg_execution_times.rst"]
default_role = "literal"

# -- API reference ---------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False


def _quote_fitted_names_in_shapes(app, what, name, obj, options, lines):
    """Quote names with a trailing underscore in shapes, ``(n_samples, n_components_)``.

    reST would read ``n_components_`` as a link to an undefined target.
    """
    import re

    for i, line in enumerate(lines):
        if "of shape (" in line:
            lines[i] = re.sub(r"(?<![`\w])([A-Za-z]\w*_)(?=[,)])", r"`\1`", line)


def _unlink_foreign_references(app, what, name, obj, options, lines):
    """Turn ``:ref:`` roles of inherited scikit-learn docstrings into plain text.

    They point into scikit-learn's own documentation, whose labels do not
    exist here.
    """
    import re

    if getattr(obj, "__module__", "") and obj.__module__.startswith("sklearn_ae"):
        return
    for i, line in enumerate(lines):
        line = re.sub(r":ref:`([^<`]+?)\s*<[^>`]+>`", r"\1", line)
        lines[i] = re.sub(r":ref:`([^`]+)`", r"``\1``", line)


def setup(app):
    app.connect("autodoc-process-docstring", _quote_fitted_names_in_shapes, priority=400)
    app.connect("autodoc-process-docstring", _unlink_foreign_references, priority=400)


# -- Gallery -----------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("sklearn_ae",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"sklearn_ae": None},
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
}

# -- HTML ----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_ae {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []
