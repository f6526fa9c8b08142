"""The playbook: solutions offered to the customer and their agreement, approvals above a person's limit,
and the goods that move (reships, exchanges, returns)."""
