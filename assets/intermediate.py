"""The shared rules as assets: one per SQL file under sql/intermediate/ (views and table macros).

Their inputs are read from their SQL (kaohe.models.lineage), like the marts'.
"""

from dagster import AssetKey, AssetsDefinition, MaterializeResult, asset

from assets.resources import Warehouse
from kaohe.models import create_intermediate, intermediate_models, model_dictionary, model_sql
from kaohe.models.lineage import reads


def asset_key(table: str) -> AssetKey:
    """The asset key of a ``schema.name`` table (staging, intermediate or marts)."""
    return AssetKey(table.split("."))


def _intermediate_asset(name: str) -> AssetsDefinition:
    d = model_dictionary("intermediate", name)
    kind = f"table macro ({', '.join(d.params)})" if d.params else "view"

    @asset(
        name=name,
        key_prefix=["intermediate"],
        group_name="intermediate",
        kinds={"duckdb", "sql"},
        owners=["team:analytics"],
        deps=[asset_key(t) for t in sorted(reads(model_sql("intermediate", name)))],
        description=f"{d.description['en']} ({kind}; sql/intermediate/{name}.sql)",
    )
    def model(warehouse: Warehouse) -> MaterializeResult:
        with warehouse.writer() as con:
            create_intermediate(con, name)
        return MaterializeResult(metadata={"kind": kind})

    return model


intermediate_assets = [_intermediate_asset(q.split(".", 1)[1]) for q in intermediate_models()]
