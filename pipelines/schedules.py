"""The nightly schedule: 02:00 Asia/Shanghai, yesterday's files and the month to date."""

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from kaohe.months import GRACE_DAYS, months_to_build
from pipelines.jobs import monthly_run


@schedule(job=monthly_run, cron_schedule="0 2 * * *", execution_timezone="Asia/Shanghai",
          description="Ingest new files, rebuild the month to date (and the previous month "
          f"during the first {GRACE_DAYS} days, for late files), publish.")
def nightly(context: ScheduleEvaluationContext):
    today = context.scheduled_execution_time.date()
    for month in months_to_build(today):
        yield RunRequest(run_key=f"{today.isoformat()}-{month}", partition_key=f"{month}-01",
                         tags={"kaohe/month": month})
