"""The learning stage: multi-scale samples (dataset), the MS-GNN and its baselines (model),
training and cross-validation (train), Gaussian-process Bayesian tuning with Optuna (tune)."""
