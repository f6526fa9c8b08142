"""Supervisor reports: where after-sales hurts, aggregated in the database."""
