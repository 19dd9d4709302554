"""``make bench``: the API against the original serving style, same load generator, same run."""
