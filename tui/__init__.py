"""eonay: Kamu SM E-imzalı Giriş and E-Onay with a smart card, in the terminal."""

__version__ = "0.1.0"
