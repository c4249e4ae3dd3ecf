"""Generated docs stay in step with their single source."""

from kaohe.docs import DOCS, contract_markdown


def test_data_contract_page_is_generated_from_the_contract():
    assert (DOCS / "data-contract.md").read_text(encoding="utf-8") == contract_markdown(), (
        "docs/data-contract.md is stale: run `uv run python -m kaohe.docs`"
    )
