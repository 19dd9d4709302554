"""Training, evaluation and packaging of the digit CNN into model bundles."""
