"""Local Slack and Jira emulators and the sandbox walk."""
