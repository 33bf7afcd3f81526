"""Operating the platform: backups and restores."""
