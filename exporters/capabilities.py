"""Moved to contract/export_capabilities.py (the API reads it without importing exporters)."""

from contract.export_capabilities import FORMATS, FRAMEWORKS, capabilities, nvidia_gpu_present

__all__ = ["FORMATS", "FRAMEWORKS", "capabilities", "nvidia_gpu_present"]
