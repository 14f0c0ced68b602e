"""HTTP plumbing shared by every router: errors, the unit-of-work route, auth, rate limits."""
