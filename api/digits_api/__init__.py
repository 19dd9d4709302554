"""Digit recogniser: the model bundle format, the TFLite model runtime and the HTTP API."""
