"""Batch incidents: detection, one agreed reply to every member, proactive tickets, resolution; and the
shipping watch (stalled parcels, customers told before they ask)."""
