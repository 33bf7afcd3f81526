# Settings of one reliefsvc installation. Copy to instance/config.py and edit.
# The environment overrides these: DATABASE_URL, SECRET_KEY, RELIEFSVC_ENV.

# "production" refuses to start with a default secret key and sets secure cookies.
ENV_NAME = "development"

# PostgreSQL for production (psycopg 3); SQLite in this folder when unset.
# SQLALCHEMY_DATABASE_URI = "postgresql://reliefsvc@127.0.0.1:5432/reliefsvc"

# Leave unset to use the key generated in instance/secret_key.
# SECRET_KEY = "..."

COUNTY_NAME = "康乐县"
BUREAU_NAME = "康乐县民政局"

# Rows per page in lists.
PAGE_SIZE = 50
