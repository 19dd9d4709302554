"""``make bench``: the API against KServe's model server, the HTTP stack's ceilings and the original serving
style, same load generator, same run."""
