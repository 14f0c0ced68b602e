"""Users, roles, authentication (access JWT + rotating refresh tokens)."""
