"""Speed for expert agents: saved views of the queue and macros (one click: reply, tags, status, subtask)."""
