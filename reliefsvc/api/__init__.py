"""The versioned JSON API under /api/v1/ with its OpenAPI description."""
