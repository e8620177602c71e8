"""The Slack adapter: Bolt listeners, Block Kit rendering and the Web API publisher."""
