"""watcher: tracks Microsoft's page of Azure services that support managed identities."""

__version__ = "0.1.0"
