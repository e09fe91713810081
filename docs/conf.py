"""Sphinx configuration of textrl's documentation.

Build (warnings are errors, every cross-reference checked, tutorials executed):

    pip install -e ".[docs]"
    sphinx-build -W -n -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")
# The tutorials' tensors are small: one thread is as fast, and a build beside other jobs does
# not slow down by thread contention (set OMP_NUM_THREADS to change it).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import textrl  # noqa: E402

project = "textrl"
author = "the textrl authors"
copyright = "the textrl authors"  # noqa: A001
version = release = textrl.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax served from the site itself: no CDN, no network
    "sphinx_gallery.gen_gallery",
    "textrl_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "tutorials/GALLERY_HEADER.rst", "auto_tutorials/*.ipynb",
                    "auto_tutorials/*.py", "auto_tutorials/*.zip", "auto_tutorials/*.json"]
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# --- the API reference ---------------------------------------------------------------
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_member_order = "bysource"
autodoc_class_signature = "mixed"
autodoc_inherit_docstrings = False  # torch's and Gymnasium's long docstrings stay theirs
python_use_unqualified_type_names = True

# No network at build time, so no intersphinx: the other projects' types that appear in
# textrl's signatures are listed here, by their own module paths (never a blanket ignore).
nitpicky = True
_EXTERNAL = [r"torch\..*", r"numpy\..*", r"gymnasium\..*", r"stable_baselines3\..*",
             r"transformers\..*"]
_STDLIB = [r"collections\.abc\.\w+", r"pathlib\.Path", r"Path", r"os\.PathLike",
           r"types\.ModuleType"]
nitpick_ignore_regex = [("py:.*", p) for p in _EXTERNAL + _STDLIB]
# textrl's private helpers (``_State``) that appear in signatures are not documented.
nitpick_ignore_regex.append(("py:class", r"textrl\.[\w.]*\._\w+"))
# Docstrings that name a textrl class without its module, in files being changed elsewhere
# (textrl/rewards/reference_bleu.py, textrl/tasks/prompted.py): to qualify there.
nitpick_ignore: list[tuple[str, str]] = []

# --- tutorials: sphinx-gallery scripts, executed at every build ------------------------
sphinx_gallery_conf = {
    "examples_dirs": "tutorials",
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": r"/tutorial_",
    "ignore_pattern": r"__init__\.py|bigram_policy\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "capture_repr": ("_repr_html_",),
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "write_computation_times": False,
}

# --- HTML ------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"textrl {release}"
html_static_path = ["_static"]
html_css_files = ["textrl.css"]
html_show_sourcelink = False
