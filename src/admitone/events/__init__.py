"""Events: organizers' events, ticket tiers and their capacity counters, publish, delete,
completion."""
