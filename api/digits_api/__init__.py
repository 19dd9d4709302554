"""Digit recogniser HTTP API: FastAPI over the model runtime of ``digits_bundle``."""
