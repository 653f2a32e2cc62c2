"""fer_train: datasets, models, training, evaluation and export for fer_runtime."""
