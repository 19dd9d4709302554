"""Publishing model bundles as GitHub Releases (what the training repository's release job does)."""
