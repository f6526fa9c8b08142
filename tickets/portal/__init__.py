"""The customer's signed link: progress, solution choice, evidence, satisfaction survey (no login)."""
