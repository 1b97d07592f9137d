"""Models: the multi-scale GNN (msgnn.py) and the descriptor baselines (baselines.py)."""
from msgnn.learn.model.baselines import MLP, MeanPredictor, descriptor, descriptors, make_svr
from msgnn.learn.model.msgnn import MSGNN

__all__ = ["MSGNN", "MLP", "MeanPredictor", "descriptor", "descriptors", "make_svr"]
