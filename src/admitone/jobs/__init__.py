"""Durable background jobs: a jobs table, workers, retries, leases and cron."""
