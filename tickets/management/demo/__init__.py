"""The demo data seed_demo loads: its tables (data.py), its scripted cases (cases_open.py, cases_closed.py)
and the builders that turn them into rows through the services (build.py)."""
