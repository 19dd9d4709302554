"""The model bundle, the unit every component passes on: its format (manifest), reading and writing
bundle folders and zips safely, fetching a pinned one, the TFLite runtime that serves it and its
evaluation on held-out digits. It depends on no other package of this repository."""
