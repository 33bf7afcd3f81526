"""Users, organisations, roles, login and ``restrict_access``."""
