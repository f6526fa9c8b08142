"""The desk's pages (the shell over the core and the features): queue.py, ticket.py, inbox.py."""
