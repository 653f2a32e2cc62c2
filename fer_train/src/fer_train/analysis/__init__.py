"""Analyses beside training: dataset EDA, hyperparameter sweeps, evaluation reports."""
