"""The nightly schedule: 02:00 Asia/Shanghai, yesterday's files and the month to date."""

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from assets.resources import KaoheConfig
from kaohe.months import GRACE_DAYS, months_to_build
from pipelines.jobs import monthly_run


@schedule(job=monthly_run, cron_schedule="0 2 * * *", execution_timezone="Asia/Shanghai",
          description="Ingest new files, rebuild the month to date (and the previous month "
          f"during the first {GRACE_DAYS} days for late files, or the configured appeal window "
          "if longer), publish.")
def nightly(context: ScheduleEvaluationContext, kaohe_config: KaoheConfig):
    today = context.scheduled_execution_time.date()
    # appeals decided within the window restate the previous month (docs/scorecard.md "Appeals")
    rebuild_days = max(GRACE_DAYS, kaohe_config.load().appeals.window_days)
    for month in months_to_build(today, rebuild_days):
        yield RunRequest(run_key=f"{today.isoformat()}-{month}", partition_key=f"{month}-01",
                         tags={"kaohe/month": month})
