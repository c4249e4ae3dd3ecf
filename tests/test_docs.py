"""Generated docs stay in step with their single source."""

import pytest

from kaohe.docs import DOCS, PAGES


@pytest.mark.parametrize("page", sorted(PAGES))
def test_generated_page_is_up_to_date(page):
    assert (DOCS / page).read_text(encoding="utf-8") == PAGES[page](), (
        f"docs/{page} is stale: run `uv run python -m kaohe.docs`"
    )
