"""Microscopy stage: simulated (JMAK) or real micrographs -> grain segmentation -> facet graphs;
abTEM HRTEM/HAADF images of the MD snapshots -> lattice-fringe segmentation."""
