"""The asset graph in three domains, each one ``dagster.Definitions``; pipelines/definitions.py
merges them with the job, the schedule and the resources.

- ingest (ingest.py, audit.py): ``staging/<source>``, ``audit/file_registry`` (group ingest);
- models (intermediate.py, metrics.py, checks.py): ``intermediate/<model>`` (group
  intermediate), ``marts/<table>`` (group marts), on the monthly partitions;
- reporting (reports.py, publish.py): ``reports/monthly`` (group reports, monthly partitions),
  ``warehouse/published`` (group publish).

The data-quality checks (checks.py: ``quality_gate``, ``quality_warnings``) are declared on the
assets they check, ingest and models alike. The scoring rules (kaohe/scoring/) are marts of the
models domain: one asset factory builds every mart from ``kaohe.models.marts.MARTS``.

A domain binds no resources (its assets ask for ``warehouse`` and ``kaohe_config``, see
assets/resources.py) and reads neither the environment nor a database: the models and
reporting domains are built on the monthly partitions they are given.
"""

from dagster import Definitions, MonthlyPartitionsDefinition

from assets.audit import file_registry
from assets.ingest import ingest_assets
from assets.intermediate import intermediate_assets
from assets.metrics import mart_assets
from assets.publish import published_warehouse
from assets.reports import monthly_reports


def ingest() -> Definitions:
    """Landing files into raw and staging, one asset per source; the file registry after."""
    return Definitions(assets=[*ingest_assets, file_registry])


def models(partitions: MonthlyPartitionsDefinition) -> Definitions:
    """The shared rules (intermediate views and macros) and the monthly marts."""
    return Definitions(assets=[*intermediate_assets, *mart_assets(partitions)])


def reporting(partitions: MonthlyPartitionsDefinition) -> Definitions:
    """The month's reports and the analysts' published copy."""
    return Definitions(assets=[monthly_reports(partitions), published_warehouse])
