"""Prometheus metrics, defined once; `/metrics` renders them with the job backlog read fresh."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOB_RESULTS = Counter(
    "bot_job_results_total",
    "Job runs by kind and outcome (done, retry, throttled, failed)",
    ["kind", "outcome"],
)
JOB_SECONDS = Histogram("bot_job_seconds", "Time spent running one job", ["kind"])
JOB_BACKLOG = Gauge("bot_job_backlog", "Jobs not done, by state", ["state"])
JOB_OLDEST_PENDING = Gauge("bot_job_oldest_pending_seconds", "Age of the oldest pending job")
SYNC_RESULTS = Counter(
    "bot_sync_total", "Calls to Jira and Slack by target, kind and outcome", ["target", "kind", "outcome"]
)
WEBHOOK_DELIVERIES = Counter(
    "bot_webhook_deliveries_total", "Jira webhook deliveries by outcome", ["outcome"]
)
RECONCILER_RUNS = Counter("bot_reconciler_runs_total", "Reconciler runs by outcome", ["outcome"])
CHANGES_APPLIED = Counter(
    "bot_jira_changes_applied_total", "Jira changelog items applied, by door and field", ["door", "field"]
)
JIRA_CREDENTIALS_REFUSED = Gauge(
    "bot_jira_credentials_refused",
    "1 while Jira refuses the bot's credentials (a 401, or a CAPTCHA 403) and the Jira lane waits, else 0",
)
RATE_LIMITED = Counter(
    "bot_rate_limited_total",
    "429s received, by target and reason (Jira's RateLimit-Reason, Slack's method)",
    ["target", "reason"],
)
