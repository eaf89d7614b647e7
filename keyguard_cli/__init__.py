"""`keyguard`: the operator's command for the key's life (status, rotate, rollback, policy, vend).

Every subcommand is a plain function from clients and settings to a JSON-able report
(`keyguard_cli.status`, `keyguard_cli.rollback`, ...); `keyguard_cli.main` only parses
arguments, builds the clients (AWS, or the local stack with `--local`) and prints the report
for people or, with `--json`, for scripts. No report ever holds key material.
"""
