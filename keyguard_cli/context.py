"""Where the command talks to: AWS with the usual boto3 credentials, or the local stack.

`--local` reads the endpoints `python -m local.stack` prints (`SECRETS_MANAGER_ENDPOINT_URL`,
`MOMENTO_LOCAL_ENDPOINT`, `MOMENTO_API_KEYS_URL`; export its `KEY=value` lines) and uses dummy
credentials. Without `--local` those development overrides are ignored, so a shell left over
from local work cannot point a production command at a laptop, or the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.config import DEFAULT_API_KEYS_URL, CommonSettings, Env
from shared.errors import ConfigError

_LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class Context:
    """Clients and settings for one command, built on first use."""

    environ: Mapping[str, str]
    local: bool
    region: str | None
    profile: str | None
    clock: Callable[[], float]
    stack_name: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)
    _outputs: dict[str, str] | None = None

    @property
    def common(self) -> CommonSettings:
        env = Env(self.environ)
        timeout = env.float("MOMENTO_TIMEOUT_SECONDS", 5.0, minimum=0.1, maximum=60.0)
        if not self.local:
            api_keys_url = env.str("MOMENTO_API_KEYS_URL", DEFAULT_API_KEYS_URL)
            env.check()
            return CommonSettings(None, None, api_keys_url, timeout)
        endpoint = env.optional_str("SECRETS_MANAGER_ENDPOINT_URL")
        momento = env.optional_str("MOMENTO_LOCAL_ENDPOINT")
        if not endpoint or not momento:
            env.problems.append(
                "--local needs SECRETS_MANAGER_ENDPOINT_URL and MOMENTO_LOCAL_ENDPOINT: start "
                "`python -m local.stack` and export the KEY=value lines it prints"
            )
        api_keys_url = env.str("MOMENTO_API_KEYS_URL", DEFAULT_API_KEYS_URL)
        env.check()
        return CommonSettings(endpoint, momento, api_keys_url, timeout)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            common = self.common
            # SecretStore retries Secrets Manager itself (bounded, typed); botocore's would multiply them.
            attempts = 1 if service == "secretsmanager" else 3
            retries: Any = {"total_max_attempts": attempts, "mode": "standard"}
            kwargs: dict[str, Any] = {"config": Config(retries=retries, connect_timeout=5, read_timeout=15)}
            if self.local:
                kwargs.update(_LOCAL_CREDENTIALS)
                # moto's server answers every service on one port (Secrets Manager, SSM, CloudFormation).
                kwargs["endpoint_url"] = common.secrets_manager_endpoint_url
                session = boto3.Session(
                    region_name=self.region or self.environ.get("AWS_REGION") or "us-east-1"
                )
            else:
                session = boto3.Session(profile_name=self.profile, region_name=self.region)
                if session.region_name is None:
                    raise ConfigError(["no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION"])
            self._clients[service] = session.client(service, **kwargs)  # type: ignore[call-overload]
        return self._clients[service]

    def where(self) -> str:
        """Where AWS calls went, for error messages (a wrong region looks like a missing secret)."""
        if self.local:
            return "the local stack"
        client = self._clients.get("secretsmanager")
        region = client.meta.region_name if client is not None else self.region
        return f"region {region}"

    def stack_outputs(self) -> dict[str, str]:
        """The CloudFormation outputs of `--stack` (secret ARNs, function ARNs, the API URL)."""
        if self.stack_name is None:
            return {}
        if self._outputs is None:
            stacks = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
            self._outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        return self._outputs

    def secret_ids(self, named: list[str]) -> list[str]:
        if named:
            return named
        outputs = self.stack_outputs()
        listed = outputs.get("SecretArns") or outputs.get("SecretArn")
        if listed:
            return [part.strip() for part in listed.split(",") if part.strip()]
        from_env = [p.strip() for p in self.environ.get("KEYGUARD_SECRET_IDS", "").split(",") if p.strip()]
        if from_env:
            return from_env
        raise ConfigError(["name the secret(s): SECRET_ID arguments, --stack NAME, or KEYGUARD_SECRET_IDS"])

    def function(self, explicit: str | None, output: str) -> str:
        if explicit:
            return explicit
        value = self.stack_outputs().get(output)
        if not value:
            raise ConfigError([f"name the function: --function NAME, or --stack NAME with output {output}"])
        return value
