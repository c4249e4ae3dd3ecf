"""A home built by the v1 release of kaohe (tests/fixtures/warehouses/v1.tar.xz) is upgraded
by today's kaohe: the next month runs after its migrations, the old month's cells, file
registry and quarantine stay as they were, and the old month run again gives the tables a new
home gives from the same files. The tests are in tests/upgrade_homes.py."""

from tests.upgrade_homes import (  # noqa: F401
    test_the_next_month_runs_after_the_migrations_and_a_copy,
    test_the_old_month_run_again_gives_the_tables_a_new_home_gives,
    test_the_old_months_cells_registry_and_quarantine_are_unchanged,
    upgraded,
)

RELEASE = "v1"
