"""The kiemke agent: collects hardware-age evidence, antivirus, firewall and connectivity facts."""

__version__ = "0.1.0"
