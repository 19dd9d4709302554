"""The release syncer: from GitHub Releases of a training repository to a verified rolling update."""
