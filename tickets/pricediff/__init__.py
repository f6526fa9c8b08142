"""Bulk price-difference refunds (价保): upload, preview, approval, a resumable run, the report."""
