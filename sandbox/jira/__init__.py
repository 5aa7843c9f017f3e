"""A local Jira Cloud emulator (REST API v2 and signed webhooks) and a person acting in it.

emu = JiraEmulator(projects=("INC", "PM")).start()        # http://127.0.0.1:<port>
emu.add_user(account_id="acc-alice", email="alice@example.com", display_name="Alice")
emu.set_webhook("http://127.0.0.1:8080/jira/webhook", "secret")
jira = JIRA(server=emu.url, basic_auth=("bot@example.com", "jira-sandbox-token"), max_retries=0, timeout=5)
JiraUser(emu, account_id="acc-alice").transition("INC-1", "in progress")  # changelog + webhook
emu.stop()
"""

from .emulator import JiraEmulator
from .errors import JiraEmulatorError
from .user import JiraUser

__all__ = ["JiraEmulator", "JiraEmulatorError", "JiraUser"]
