"""motcua benchmark harness: `make bench` / `.venv/bin/python -m bench` (see bench/README.md)."""
