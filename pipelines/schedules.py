"""The nightly schedule: 02:00 Asia/Shanghai, yesterday's files and the month to date."""

from datetime import date, timedelta

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from pipelines.jobs import monthly_run


def months_to_build(today: date, late_file_days: int = 5) -> list[str]:
    """The current month; during its first days also the previous one, for late files."""
    months = [today.strftime("%Y-%m")]
    if today.day <= late_file_days:
        months.insert(0, (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m"))
    return months


@schedule(job=monthly_run, cron_schedule="0 2 * * *", execution_timezone="Asia/Shanghai",
          description="Ingest new files, rebuild the month to date (and the previous month "
          "during the first 5 days, for late files), publish.")
def nightly(context: ScheduleEvaluationContext):
    today = context.scheduled_execution_time.date()
    for month in months_to_build(today):
        yield RunRequest(run_key=f"{today.isoformat()}-{month}", partition_key=f"{month}-01",
                         tags={"kaohe/month": month})
