"""The kiemke server: inventory, history, age and compliance policies, coverage figures, report."""

__version__ = "0.1.0"
