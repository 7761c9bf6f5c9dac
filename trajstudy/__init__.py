"""A reproducible study and toolkit of privacy-preserving publication of trajectory and spatiotemporal data"""

__version__ = "0.1.0"
