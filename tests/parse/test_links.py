"""The normal form of a documentation link: every spelling of one article is one string, and
another article is another string."""

from __future__ import annotations

import pytest

from watcher.parse import parse
from watcher.parse.links import AZURE_FOLDER, ENTRA_FOLDER, normal_href, published_folder

BATCH = "/azure/batch/managed-identity-pools"


@pytest.mark.parametrize(
    ("href", "folder"),
    [
        ("../../batch/managed-identity-pools.md", AZURE_FOLDER),  # azure-docs source
        ("/azure/batch/managed-identity-pools", ENTRA_FOLDER),  # entra-docs source
        ("/en-us/azure/batch/managed-identity-pools", ENTRA_FOLDER),  # the published site
        ("https://learn.microsoft.com/en-us/azure/batch/managed-identity-pools", ENTRA_FOLDER),
        ("https://docs.microsoft.com/en-us/azure/batch/managed-identity-pools", AZURE_FOLDER),
        ("https://learn.microsoft.com/de-de/azure/batch/managed-identity-pools/", AZURE_FOLDER),
        ("/azure/batch/managed-identity-pools?tabs=portal&amp;preserve-view=true", ENTRA_FOLDER),
        ("/azure/batch/managed-identity-pools.md#create-a-pool", ENTRA_FOLDER),
        ("/azure/batch/managed-identity-pools?pivots=cli&view=azure-cli-latest", ENTRA_FOLDER),
        ("~/articles/batch/managed-identity-pools.md", AZURE_FOLDER),
        ("/Azure/Batch/Managed-Identity-Pools", ENTRA_FOLDER),
    ],
)
def test_every_spelling_of_one_article_is_one_link(href: str, folder: str) -> None:
    assert normal_href(href, folder) == BATCH


def test_a_sibling_of_the_page_is_the_same_before_and_after_the_move_to_entra_docs() -> None:
    before = normal_href("qs-configure-cli-windows-vmss.md", AZURE_FOLDER)
    after = normal_href("qs-configure-cli-windows-vmss.md", ENTRA_FOLDER)
    published = normal_href(
        "https://learn.microsoft.com/en-us/entra/identity/managed-identities-azure-resources/"
        "qs-configure-cli-windows-vmss",
        ENTRA_FOLDER,
    )
    assert before == after == published
    assert (
        before == "/entra/identity/managed-identities-azure-resources/qs-configure-cli-windows-vmss"
    )


@pytest.mark.parametrize(
    "href",
    [
        "../develop/configure-app-multi-instancing.md",  # the wrong article of 2023
        "/azure/batch/batch-customer-managed-key",
        "/azure/batch/managed-identity-pools?article=2",  # a query that is not a view
        "https://github.com/Azure/azure-batch",
    ],
)
def test_another_article_is_another_link(href: str) -> None:
    assert normal_href(href, AZURE_FOLDER) != BATCH


def test_links_off_the_docs_site_keep_their_host_and_path() -> None:
    assert normal_href("https://GitHub.com/Azure/azure-batch/#readme") == (
        "https://github.com/Azure/azure-batch"
    )
    assert normal_href("mailto:someone@example.com") == "mailto:someone@example.com"


def test_where_a_page_is_published() -> None:
    assert published_folder("active-directory") == AZURE_FOLDER
    assert published_folder("entra-id") == ENTRA_FOLDER
    canonical = (
        "https://learn.microsoft.com/en-us/entra/identity/managed-identities-azure-resources/"
        "managed-identities-status"
    )
    assert published_folder(None, canonical) == ENTRA_FOLDER


def test_a_page_resolves_its_relative_links_by_its_own_documentation_set() -> None:
    table = (
        "| Service | Documentation |\n|---|---|\n| Azure Batch | [Pools](../../batch/pools.md) |\n"
    )
    azure = parse(f"---\nms.service: active-directory\n---\n{table}".encode(), "markdown")
    entra = parse(f"---\nms.service: entra-id\n---\n{table}".encode(), "markdown")
    assert azure.records[0].links == ("/azure/batch/pools",)
    assert entra.records[0].links == ("/entra/batch/pools",)
