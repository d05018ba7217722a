"""Kubernetes network segmentation evidence for compliance assessments."""

__version__ = "0.1.0"
