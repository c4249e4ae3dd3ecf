"""``staging.<source>``: the latest file wins per staging key, recomputed for the keys that new
files touched."""

from __future__ import annotations

import duckdb

from kaohe.ingest.contract import Source
from kaohe.warehouse import quote, superseded_table


class Staging:
    """The staging refresh of ``Ingestor`` (a mixin: it uses ``self.con``)."""

    con: duckdb.DuckDBPyConnection

    def refresh_staging(self, src: Source, new_file_ids: list[int], whole: bool = False) -> None:
        """Latest file wins per staging key, recomputed only for the keys new files touched.

        ``staging.<source>`` is a view: raw minus the versions listed in
        ``raw.<source>__superseded``. Most keys arrive once and need nothing; only keys with more
        than one version in raw (re-deliveries) are ranked: business date, then seq, then
        arrival, and all but the first are listed as superseded. ``whole`` recomputes every key
        (after an interrupted run, whose touched keys were lost with it).
        """
        con = self.con
        key_cols = [quote(k) for k in src.staging_key]
        keys = ", ".join(key_cols)
        ids = ", ".join(str(int(i)) for i in new_file_ids) or "null"
        match = " and ".join(f"a.{k} = b.{k}" for k in key_cols)
        superseded = superseded_table(src)
        con.execute("begin transaction")
        try:
            first = not con.execute(
                "select count(*) from audit.file_registry where source = ? and staged",
                [src.name]).fetchall()[0][0]
            if whole or first:  # every key: no need to collect the touched ones
                con.execute(f"delete from {superseded}")
                scope = ""
            else:
                con.execute(f"insert into _touched_{src.name} select {keys} "
                            f"from raw.{src.name} where _file_id in ({ids})")
                con.execute(f"delete from {superseded} a using "
                            f"(select distinct {keys} from _touched_{src.name}) b where {match}")
                scope = f"semi join _touched_{src.name} b on {match} "
            con.execute(
                f"create or replace temp table _versions as select {keys} from raw.{src.name} a "
                f"{scope}group by all having count(*) > 1"
            )
            con.execute(
                f"insert into {superseded} select {keys}, _file_id from raw.{src.name} a "
                f"semi join _versions b on {match} "
                f"qualify row_number() over (partition by {keys} "
                "order by _business_date desc, _seq desc, _file_id desc) > 1"
            )
            con.execute(f"delete from _touched_{src.name}")
            con.execute("update audit.file_registry set staged = true where source = ? "
                        "and not staged", [src.name])
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
