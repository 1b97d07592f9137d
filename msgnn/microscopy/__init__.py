"""Microscopy stage: simulated (JMAK) or real micrographs -> grain segmentation -> facet graphs."""
from msgnn.microscopy.pipeline import accuracy_study, process_condition  # noqa: F401
