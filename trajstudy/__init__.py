"""A reproducible study and toolkit of privacy-preserving publication of trajectory and spatiotemporal data

Modules:

- `trajstudy.docs`: `trajstudy docs --out DIR`: a static HTML site from the notebooks (lessons with their committed outputs, an API reference from docments, the evaluation results), built with nbconvert alone."""

__version__ = "0.1.0"
