"""One writer connection for the steps of an in-process run (kaohe.warehouse.run_writer): each
step sees what a connection of its own would have shown it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from kaohe.warehouse import Home, run_writer, writer


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home").create()


def test_the_steps_of_a_run_share_one_connection_opened_by_the_first(home):
    with run_writer(home):
        assert not home.work_db.exists()  # nothing opened before a step asks
        with writer(home) as first:
            first.execute("create table marts.t as select 1 as a")
        with writer(home) as second:
            assert second is first
            assert second.execute("select a from marts.t").fetchall() == [(1,)]
            with writer(home) as nested:  # a helper of the step opening the writer again
                assert nested is second
    # the run is over: a connection of its own again, and the data is there
    with writer(home) as con:
        assert con is not first
        assert con.execute("select count(*) from marts.t").fetchall() == [(1,)]


def test_a_transaction_a_failed_step_left_open_is_rolled_back(home):
    with run_writer(home):
        with pytest.raises(RuntimeError), writer(home) as con:
            con.execute("create table marts.t (a int)")
            con.execute("begin transaction")
            con.execute("insert into marts.t values (1)")
            raise RuntimeError("the step fails inside its transaction")
        with writer(home) as con:
            assert con.execute("select count(*) from marts.t").fetchall() == [(0,)]
            con.execute("begin transaction")  # no transaction is left open
            con.execute("commit")


def test_a_steps_temp_tables_and_views_do_not_outlive_it_but_the_pii_macros_do(home):
    with run_writer(home):
        with writer(home) as con:
            con.execute("create temp table _checked as select 1 as a")
            con.execute("create temp view _in as select 2 as b")
        with writer(home) as con:
            assert con.execute("select count(*) from duckdb_tables() where temporary"
                               ).fetchall() == [(0,)]
            with pytest.raises(duckdb.CatalogException):
                con.execute("select * from _in")
            assert con.execute("select pii_hmac('13800000000') <> '13800000000'"
                               ).fetchall() == [(True,)]


def test_a_writer_that_cannot_open_fails_the_step_not_the_run(home, tmp_path):
    home.work_db.parent.mkdir(parents=True, exist_ok=True)
    home.work_db.write_bytes(b"not a duckdb database")
    with run_writer(home):
        for _ in range(2):  # every step says it, none is handed a broken connection
            with pytest.raises(duckdb.Error), writer(home):
                pass
