"""The canonical keys of the page's rows and columns, and the spellings each stands for.

Identity types (``system_assigned``, ``user_assigned``), clouds (``global``, ``usgov``,
``germany``, ``china``) and the named table columns, keyed by the normal form of their
spellings on the page. The parser maps labels through these tables; the config and the
command line check the names a user gives against their values. A module of its own, with
no imports beyond the domain, so that reading a config never loads the parser.
"""

from __future__ import annotations

from watcher.domain.document import IDENTITY_COLUMN

ROWS: dict[str, str] = {
    "systemassigned": "system_assigned",
    "systemassignedidentity": "system_assigned",
    "systemassignedmanagedidentity": "system_assigned",
    "userassigned": "user_assigned",
    "userassignedidentity": "user_assigned",
    "userassignedmanagedidentity": "user_assigned",
}

CLOUDS: dict[str, str] = {
    "allgenerallyavailableglobalazureregions": "global",
    "azureglobal": "global",
    "global": "global",
    "azurepubliccloud": "global",
    "azuregovernment": "usgov",
    "azureusgovernment": "usgov",
    "usgovernment": "usgov",
    "azuregermany": "germany",
    "azurechina21vianet": "china",
    "azurechina": "china",
    "azureoperatedby21vianet": "china",
    "microsoftazureoperatedby21vianet": "china",
}

TABLE_COLUMNS: dict[str, str] = {
    "resourceid": "resource_id",
    "status": "status",
    # The 2025 page's "Identity types(s)" header, and the spellings it could be fixed to.
    "identitytypess": IDENTITY_COLUMN,
    "identitytypes": IDENTITY_COLUMN,
    "identitytype": IDENTITY_COLUMN,
    "managedidentitytypes": IDENTITY_COLUMN,
    "supportedidentitytypes": IDENTITY_COLUMN,
}

# The identity types an identity-types cell can list, as the rows of the matrix era name
# them, so that a route or query says ``user_assigned`` of either page.
IDENTITY_ROWS: tuple[tuple[str, str], ...] = (
    ("system_assigned", "System assigned"),
    ("user_assigned", "User assigned"),
)

# Columns with no canonical spelling keep the normal form of their header. These are the
# ones the real pages have (the status page's documentation links, the 2018 page's
# per-cloud Resource ID and access columns) and the namespace column the status page had in
# late 2021 (a version not in the corpus), so that a route or filter may name them;
# tests/cli/test_errors_messages.py holds the list to the corpus.
PAGE_COLUMNS: tuple[str, ...] = (
    "documentation",
    "namespace",
    "azureglobalendpointresourceid",
    "azuregovernmentresourceid",
    "azuregermanyresourceid",
    "assignaccess",
)
