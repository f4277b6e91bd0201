"""The page's words: key normal forms and status classification."""

from __future__ import annotations

import pytest

from watcher.parse.vocabulary import canonical_column, canonical_row, classify, normalize


def test_spelling_variants_of_a_name_share_a_key() -> None:
    assert normalize("Azure Arc enabled servers") == normalize("Azure Arc-enabled servers")
    assert normalize("Azure Arc-enabled servers") == "azurearcenabledservers"
    assert normalize("Azure Kubernetes Service (AKS)") == "azurekubernetesserviceaks"
    assert normalize("  AZURE   Import/Export ") == "azureimportexport"


def test_normalize_is_unicode_aware() -> None:
    # Japanese letters are letters, not punctuation; full-width ASCII folds to ASCII.
    assert normalize("Azure 仮想マシン スケール セット") == "azure仮想マシンスケールセット"
    assert normalize("ＡＺＵＲＥ　ＳＱＬ") == "azuresql"
    assert normalize("システム割り当て済み") == "システム割り当て済み"


def test_br_counts_as_a_space_not_as_letters() -> None:
    assert normalize("All Generally Available<br>Global Azure Regions") == (
        "allgenerallyavailableglobalazureregions"
    )


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("Available", "available"),
        ("available", "available"),
        ("AVAILABLE", "available"),
        ("Check", "available"),  # the check image's alt text, older revisions
        ("Available in the region where Azure Stack Edge service is available", "available"),
        ("Available in the regions where Azure Resource Mover service is available", "available"),
        ("Available in supported regions", "available"),  # a link's text
        ("Preview", "preview"),
        ("Public preview", "preview"),
        ("Public Preview", "preview"),
        ("Not available", "not_available"),
        ("Not Available", "not_available"),
        ("not Available", "not_available"),
        ("NOT AVAILABLE", "not_available"),
        ("Not  available.", "not_available"),
        ("-", "unknown"),
        ("", "unknown"),
        ("利用可能", "unknown"),
        ("使用不可", "unknown"),
        ("プレビュー", "unknown"),
        ("Supported via the data plane only", "unknown"),
        ("Available in preview regions", "unknown"),
        ("Available in regions where it is not yet GA", "unknown"),
        ("Yes", "unknown"),
    ],
)
def test_classify_single_values(raw: str, status: str) -> None:
    assert classify(raw) == (status, ())


def test_labelled_parts_that_differ_are_mixed() -> None:
    assert classify("Linux: Preview<br>Windows: Not available") == (
        "mixed",
        (("Linux", "preview"), ("Windows", "not_available")),
    )


def test_labelled_parts_that_agree_are_that_status() -> None:
    assert classify("Linux: Available<br>Windows: Available") == ("available", ())


def test_one_unknown_part_makes_the_cell_unknown() -> None:
    assert classify("Linux: プレビュー<br>Windows: 使用不可") == ("unknown", ())
    assert classify("Linux: Preview<br>Windows: soon") == ("unknown", ())


def test_empty_parts_are_not_parts() -> None:
    assert classify("Preview<br><br>") == ("preview", ())


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("System assigned", "system_assigned"),
        ("System-assigned", "system_assigned"),
        ("system Assigned", "system_assigned"),
        ("User assigned", "user_assigned"),
        ("User-assigned", "user_assigned"),
        ("Azure Global", "global"),
        ("Azure Government", "usgov"),
        ("Azure Germany", "germany"),
        ("Azure China 21Vianet", "china"),
        ("システム割り当て済み", "システム割り当て済み"),  # not guessed
        ("Linux only", "linuxonly"),
    ],
)
def test_canonical_row(text: str, key: str) -> None:
    assert canonical_row(text) == key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("All Generally Available<br>Global Azure Regions", "global"),
        ("Azure Global", "global"),
        ("Global", "global"),
        ("Azure Government", "usgov"),
        ("Azure Germany", "germany"),
        ("Azure China 21Vianet", "china"),
        ("Azure China", "china"),
        ("Resource ID", "resource_id"),
        ("Status", "status"),
        ("Documentation", "documentation"),
        ("Identity types(s)", "identity_types"),
        (
            "すべて一般公開<br>グローバル Azure リージョン",
            "すべて一般公開グローバルazureリージョン",
        ),
    ],
)
def test_canonical_column(text: str, key: str) -> None:
    assert canonical_column(text) == key
