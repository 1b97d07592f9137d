"""Segmentation accuracy against known labels: boundary F1 (with a pixel tolerance), grain-count
and mean-size errors."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from msgnn.microscopy.simulate import grain_boundaries


def boundary_f1(pred: np.ndarray, truth: np.ndarray, tolerance_px: float = 2.0) -> dict:
    """Precision, recall and F1 of predicted boundary pixels against the true ones, where a
    boundary pixel counts as matched if one of the other set lies within `tolerance_px`."""
    bp, bt = grain_boundaries(pred), grain_boundaries(truth)
    if not bp.any() and not bt.any():
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    dt_true = ndi.distance_transform_edt(~bt) if bt.any() else np.full(bt.shape, np.inf)
    dt_pred = ndi.distance_transform_edt(~bp) if bp.any() else np.full(bp.shape, np.inf)
    precision = float((dt_true[bp] <= tolerance_px).mean()) if bp.any() else 0.0
    recall = float((dt_pred[bt] <= tolerance_px).mean()) if bt.any() else 0.0
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1}
