"""Platform adapters: translate Telegram and Slack events to core calls and back."""
