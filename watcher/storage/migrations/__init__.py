"""Alembic migrations, shipped inside the package so an installed watcher can migrate itself."""
