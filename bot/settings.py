"""All configuration, read once from the environment (and an optional `.env`).

This is the only module that reads the environment: everything else receives a `Settings`.
A wrong value fails at start with a message naming the variable; tokens are `SecretStr` so they
never appear in a repr, a log line or an error.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_POSTMORTEM_FIELDS: dict[str, str] = {
    "incident_summary": "customfield_12699",
    "timeline": "customfield_12700",
    "root_causes": "customfield_12701",
    "impact": "customfield_12702",
    "mitigation_actions": "customfield_12703",
    "incident_category": "customfield_12369",
}
POSTMORTEM_FIELD_NAMES = frozenset(DEFAULT_POSTMORTEM_FIELDS)


class ConfigError(Exception):
    """A configuration problem, phrased for the person starting the bot."""


class Settings(BaseSettings):
    """The bot's whole configuration read from the environment (and `.env`), with the
    default Jira's field ids as defaults."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_announcements_channel: str | None = None

    jira_url: str | None = None
    jira_user: str | None = None
    jira_api_token: SecretStr | None = None
    jira_pat: SecretStr | None = None
    jira_bot_account_id: str | None = None
    jira_webhook_secret: SecretStr | None = None
    jira_timeout_seconds: float = Field(default=10.0, gt=0)
    jira_credentials_check_seconds: float = Field(default=60.0, gt=0)
    jira_max_requests_per_second: float = Field(default=10.0, gt=0)

    enable_jira: bool = True
    enable_raid: bool = True

    raid_jira_project_key: str = "INC"
    raid_jira_incident_category_field: str | None = None
    raid_toolbox_url: str | None = None

    jira_postmortem_project_key: str = "PM"
    jira_postmortem_issue_type: str = "Post-mortem"
    jira_postmortem_fields: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_POSTMORTEM_FIELDS)
    )

    jira_field_priority: str = "customfield_11064"
    jira_field_environments: str = "customfield_11049"
    jira_field_platform: str = "customfield_10201"
    jira_field_business_impact: str = "customfield_10936"
    jira_field_zendesk_ticket: str = "customfield_10895"
    jira_field_seller_contract: str = "customfield_10908"
    jira_field_zoho_desk_ticket: str = "customfield_10896"
    jira_incident_issue_type: str = "Incident"

    database_url: str = "sqlite:///./data/incident-bot.sqlite"
    redis_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    reconcile_interval_seconds: int = Field(default=300, gt=0)

    worker_threads: int = Field(default=4, ge=1, le=64)
    job_max_attempts: int = Field(default=12, ge=1)
    job_lease_seconds: float = Field(default=12.0, gt=0)
    job_backoff_base_seconds: float = Field(default=1.0, gt=0)
    job_backoff_max_seconds: float = Field(default=300.0, gt=0)

    close_requires_postmortem_priorities: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [1, 2]
    )
    archive_channel_on_close: bool = True
    responders_group: Annotated[list[str], NoDecode] = Field(default_factory=list)
    responders_by_priority: Annotated[dict[int, list[str]], NoDecode] = Field(default_factory=dict)
    teams: Annotated[dict[str, str | None], NoDecode] = Field(
        default_factory=lambda: {"Payments": None, "Checkout": None, "Platform": None}
    )
    categories: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["Availability", "Performance", "Data", "Security", "Other"]
    )
    log_level: str = "INFO"

    @field_validator("jira_postmortem_fields", mode="before")
    @classmethod
    def _postmortem_fields(cls, value: Any) -> Any:
        value = _json(value)
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object mapping post-mortem parts to Jira field ids")
        unknown = set(value) - POSTMORTEM_FIELD_NAMES
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}; allowed: {sorted(POSTMORTEM_FIELD_NAMES)}")
        return {**DEFAULT_POSTMORTEM_FIELDS, **value}

    @field_validator("close_requires_postmortem_priorities", mode="before")
    @classmethod
    def _priorities(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        items = [int(str(item).upper().removeprefix("P")) for item in value]
        if any(not 1 <= item <= 5 for item in items):
            raise ValueError("priorities must be between 1 and 5")
        return items

    @field_validator("responders_group", "categories", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            parsed = _json(value) if value.strip().startswith("[") else value.split(",")
            return [str(item).strip() for item in parsed if str(item).strip()]
        return value

    @field_validator("responders_by_priority", "teams", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        value = _json(value)
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("jira_url")
    @classmethod
    def _jira_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value.upper()

    @cached_property
    def jira_enabled(self) -> bool:
        """Jira sync runs only when both flags are on and a site is configured."""
        return self.enable_jira and self.enable_raid and bool(self.jira_url)

    def jira_projects(self) -> dict[str, str]:
        """Each Jira project the settings name, by the variable that names it."""
        projects = {
            "RAID_JIRA_PROJECT_KEY": self.raid_jira_project_key,
            "JIRA_POSTMORTEM_PROJECT_KEY": self.jira_postmortem_project_key,
        }
        projects.update({f"TEAMS[{team}]": key for team, key in self.teams.items() if key})
        return projects

    def missing_credentials(self) -> list[str]:
        """What `run` still needs, each with where to get it."""
        missing = []
        if self.slack_bot_token is None:
            missing.append("SLACK_BOT_TOKEN (xoxb-…): Slack app > OAuth & Permissions > Bot User OAuth Token")
        if self.slack_app_token is None:
            missing.append(
                "SLACK_APP_TOKEN (xapp-…): Slack app > Basic Information > App-Level Tokens "
                "(scope connections:write)"
            )
        if self.enable_jira and self.enable_raid:
            if not self.jira_url:
                missing.append(
                    "JIRA_URL: your Jira site, e.g. https://acme.atlassian.net (or ENABLE_JIRA=false)"
                )
            if not self.jira_pat and not (self.jira_user and self.jira_api_token):
                missing.append(
                    "JIRA_USER and JIRA_API_TOKEN (Jira Cloud: id.atlassian.com > Security > API tokens) "
                    "or JIRA_PAT (Data Center personal access token)"
                )
        return missing


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg})") from None
    return value


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning pydantic's errors into one message naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            variable = str(error["loc"][0]).upper() if error["loc"] else "?"
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"{variable}: {message}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
