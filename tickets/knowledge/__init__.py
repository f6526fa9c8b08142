"""The case library: knowledge articles drawn from archived cases, searchable in Chinese; FAQ."""
