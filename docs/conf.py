"""Sphinx settings of the course edition (``make book``; sources staged by ``nslib.publish.book``).

The book renders the committed notebooks with their stored outputs (myst-nb, no
execution) and must work without a network when it is built and when it is read:
MathJax is served from the book itself (sphinx-mathjax-offline), and widget
outputs (progress bars) fall back to their text instead of loading widget scripts
from a CDN.
"""

from nslib import __version__

project = "nsa-compendium"
# The compendium's version (CITATION.cff and pyproject.toml carry the same; a test checks it).
version = release = __version__
author = "nsa-compendium contributors"
copyright = "2026, nsa-compendium contributors"

extensions = ["myst_nb", "sphinx_design", "sphinx-mathjax-offline"]

nb_execution_mode = "off"
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath"]
myst_heading_anchors = 3

exclude_patterns = ["**.ipynb_checkpoints"]

html_theme = "sphinx_book_theme"
html_title = f"Neuro-Symbolic Activation Discovery, on trial ({release})"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": False,
    "use_fullscreen_button": False,
}
html_last_updated_fmt = None
html_favicon = "favicon.svg"
# An explicit colour mode: without one the theme logs a console error on a first visit.
html_context = {"default_mode": "light"}
