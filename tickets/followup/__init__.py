"""Follow-up (回访) after resolution: the customer's confirmation, satisfaction survey and the call record."""
