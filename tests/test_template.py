"""template.yaml keeps its promises: least privilege on the one secret, every variable declared.

The template is read with cfn-lint's YAML loader (it understands `!Ref`, `!If`, ...), so the
checks see exactly what CloudFormation would. Variable names come from the settings modules
themselves (`RotatorSettings.read` / `VendorSettings.from_environ` are run against a mapping
that records every name they ask for), so a variable added to a settings module and forgotten
in the template fails here: `sam local --env-vars` only sets variables the template declares.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
#: Variables read by Powertools itself rather than by our settings modules.
POWERTOOLS_VARIABLES = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}
SECRET_REF = {"Fn::If": ["CreateSecret", {"Ref": "MasterKeySecret"}, {"Ref": "ExistingSecretArn"}]}
ALL_SECRETS = {"Fn::Join": [",", [SECRET_REF, {"Fn::Join": [",", {"Ref": "AdditionalSecretArns"}]}]]}


def load_template() -> dict[str, Any]:
    # cfn-lint ships no type information; its loader returns plain dict/list subclasses.
    cfn_yaml: Any = importlib.import_module("cfnlint.decode.cfn_yaml")
    template: dict[str, Any] = cfn_yaml.load(str(ROOT / "template.yaml"))
    return template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resources_of(template: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def statements(policy_list: list[Any]) -> Iterator[dict[str, Any]]:
    """IAM statements of a SAM `Policies` list or an IAM role's `Policies`, through `Fn::If`."""
    for policy in policy_list:
        document = policy.get("PolicyDocument", policy) if isinstance(policy, dict) else None
        assert document is not None, f"managed policy or SAM policy template {policy!r}: use statements"
        for statement in document["Statement"]:
            yield from _unwrap_if(statement)


def _unwrap_if(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict) and "Fn::If" in node:
        for branch in node["Fn::If"][1:]:
            yield from _unwrap_if(branch)
    elif isinstance(node, dict) and node != {"Ref": "AWS::NoValue"}:
        yield node


def all_statements(template: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, fn in resources_of(template, "AWS::Serverless::Function").items():
        for statement in statements(fn["Properties"].get("Policies", [])):
            yield name, statement
    for name, role in resources_of(template, "AWS::IAM::Role").items():
        for statement in statements(role["Properties"].get("Policies", [])):
            yield name, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_statements(template: Mapping[str, Any], function: str) -> dict[str, dict[str, Any]]:
    """The function's statements by service prefix of their actions."""
    fn = template["Resources"][function]
    by_service: dict[str, dict[str, Any]] = {}
    for statement in statements(fn["Properties"]["Policies"]):
        services = {action.split(":")[0] for action in as_list(statement["Action"])}
        assert len(services) == 1, f"{function}: one service per statement, got {services}"
        (service,) = services
        assert service not in by_service, f"{function}: two {service} statements"
        by_service[service] = statement
    return by_service


# --- least privilege --------------------------------------------------------------------------


def test_no_secretsmanager_action_on_a_wildcard_resource(template: dict[str, Any]) -> None:
    # GIVEN every IAM statement in the template
    checked = 0
    for owner, statement in all_statements(template):
        actions = as_list(statement["Action"])
        if not any(str(a).lower().startswith("secretsmanager:") or a == "*" for a in actions):
            continue
        checked += 1
        # THEN none names "*" (or a wildcard pattern) as its resource
        for resource in as_list(statement["Resource"]):
            assert not (isinstance(resource, str) and "*" in resource), f"{owner}: {statement}"
        assert "*" not in actions, f"{owner}: Action '*'"
    assert checked >= 2


def test_rotator_may_read_write_and_move_stages_of_its_secrets_only(template: dict[str, Any]) -> None:
    by_service = function_statements(template, "RotatorFunction")
    assert set(by_service) == {"secretsmanager", "kms"}
    secrets = by_service["secretsmanager"]
    assert set(secrets["Action"]) == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
        "secretsmanager:ListSecretVersionIds",
    }
    # the stack's secret, plus AdditionalSecretArns when given (several accounts or cells)
    condition, several, one = secrets["Resource"]["Fn::If"]
    assert (condition, one) == ("HasAdditionalSecrets", SECRET_REF)
    assert several == {"Fn::Split": [",", ALL_SECRETS]}
    variables = template["Resources"]["RotatorFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["SECRET_IDS"] == {"Fn::If": ["HasAdditionalSecrets", ALL_SECRETS, SECRET_REF]}
    assert template["Outputs"]["SecretArns"]["Value"] == variables["SECRET_IDS"]
    kms = by_service["kms"]
    assert set(as_list(kms["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert kms["Resource"] == {"Ref": "KmsKeyArn"}


def vendor_secret_statements(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    fn = template["Resources"]["VendorFunction"]
    return [
        st
        for st in statements(fn["Properties"]["Policies"])
        if any(str(a).startswith("secretsmanager:") for a in as_list(st["Action"]))
    ]


def test_vendor_may_only_read_and_describe_the_one_secret(template: dict[str, Any]) -> None:
    fn = template["Resources"]["VendorFunction"]
    services = {
        a.split(":")[0] for st in statements(fn["Properties"]["Policies"]) for a in as_list(st["Action"])
    }
    assert services == {"secretsmanager", "kms", "ssm", "appconfig"}
    by_action = {a: st for st in vendor_secret_statements(template) for a in as_list(st["Action"])}
    assert set(by_action) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert by_action["secretsmanager:DescribeSecret"]["Resource"] == SECRET_REF
    read = as_list(by_action["secretsmanager:GetSecretValue"]["Resource"])
    assert read == [
        SECRET_REF,
        {"Fn::If": ["HasSharedTokenCache", {"Ref": "TokenCacheKeySecret"}, {"Ref": "AWS::NoValue"}]},
    ]
    kms = [st for st in statements(fn["Properties"]["Policies"]) if "kms:Decrypt" in as_list(st["Action"])]
    assert [as_list(st["Action"]) for st in kms] == [["kms:Decrypt"]]


def test_vendor_reads_only_the_awscurrent_stage(template: dict[str, Any]) -> None:
    for statement in vendor_secret_statements(template):
        if "secretsmanager:GetSecretValue" in as_list(statement["Action"]):
            assert statement["Condition"] == {"StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}}


def test_alarm_topic_key_lets_cloudwatch_publish(template: dict[str, Any]) -> None:
    (topic,) = resources_of(template, "AWS::SNS::Topic").values()
    key_ref = topic["Properties"].get("KmsMasterKeyId")
    # alias/aws/sns cannot be used by CloudWatch alarms (knowledge center cloudwatch-configure-alarm-sns)
    assert key_ref == {"Ref": "AlarmTopicKey"}
    key = template["Resources"]["AlarmTopicKey"]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Condition"] == topic["Condition"]
    grants = [
        st
        for st in key["Properties"]["KeyPolicy"]["Statement"]
        if st["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert len(grants) == 1
    assert set(grants[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_users_cannot_write_attributes_policies_may_use(template: dict[str, Any]) -> None:
    client = template["Resources"]["UserPoolClient"]["Properties"]
    writable = client["WriteAttributes"]  # absent would mean every attribute is writable
    assert writable
    assert "email" not in writable
    assert not [a for a in writable if a.startswith("custom:")]


def test_invoke_permissions_and_authorizer_trust_name_their_source(template: dict[str, Any]) -> None:
    permission = template["Resources"]["RotatorInvokeBySecretsManager"]["Properties"]
    assert permission["SourceArn"] == SECRET_REF
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    (trust,) = template["Resources"]["LambdaAuthorizerRole"]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    condition = trust["Condition"]
    assert condition["StringEqualsIfExists"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "execute-api" in json.dumps(condition["ArnLikeIfExists"]["aws:SourceArn"])


def test_http_api_writes_access_logs_without_headers(template: dict[str, Any]) -> None:
    settings = template["Resources"]["TokenApi"]["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["TokenApiAccessLogGroup", "Arn"]}
    line = json.loads(settings["Format"])
    assert {"requestId", "status", "route"} <= set(line)
    assert "header" not in settings["Format"].lower()
    group = template["Resources"]["TokenApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_template_never_pretends_to_be_sam_local(template: dict[str, Any]) -> None:
    # shared.config.in_real_lambda trusts AWS_SAM_LOCAL to tell `sam local` from a deployed function.
    assert "AWS_SAM_LOCAL" not in json.dumps(template)


def test_kms_statements_exist_only_with_a_key_and_only_through_secrets_manager(
    template: dict[str, Any],
) -> None:
    for function in ("RotatorFunction", "VendorFunction"):
        policy = template["Resources"][function]["Properties"]["Policies"][0]
        kms_entries = [s for s in policy["Statement"] if s.get("Fn::If", [""])[0] == "HasKmsKey"]
        assert len(kms_entries) == 1
        condition, when_true, when_false = kms_entries[0]["Fn::If"]
        assert (condition, when_false) == ("HasKmsKey", {"Ref": "AWS::NoValue"})
        assert "kms:ViaService" in when_true["Condition"]["StringEquals"]


# --- the API ----------------------------------------------------------------------------------


def test_get_and_post_token_routes_reach_the_vendor(template: dict[str, Any]) -> None:
    events = template["Resources"]["VendorFunction"]["Properties"]["Events"]
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events.values()}
    assert routes == {("GET", "/token"), ("POST", "/token"), ("GET", "/"), ("POST", "/")}
    for event in events.values():
        assert event["Type"] == "HttpApi"
        assert event["Properties"]["ApiId"] == {"Ref": "TokenApi"}
        assert "Auth" not in event["Properties"], "auth comes from the OpenAPI body (AuthMode)"
    paths = template["Resources"]["TokenApi"]["Properties"]["DefinitionBody"]["paths"]
    assert set(paths) == {"/token", "/"}
    assert set(paths["/token"]) == {"get", "post"}
    assert paths["/"] == paths["/token"], "the root is an alias of /token, secured the same way"


def _choose(expression: Any, truth: Mapping[str, bool]) -> Any:
    """Evaluate nested Fn::If for the given condition values."""
    while isinstance(expression, dict) and "Fn::If" in expression:
        condition, when_true, when_false = expression["Fn::If"]
        expression = when_true if truth[condition] else when_false
    return expression


@pytest.mark.parametrize(
    ("mode", "scheme"), [("jwt", "jwt"), ("lambda", "lambda"), ("iam", "sigv4"), ("none", None)]
)
def test_each_auth_mode_secures_both_routes_with_its_scheme_only(
    template: dict[str, Any], mode: str, scheme: str | None
) -> None:
    truth = {
        "IsJwt": mode == "jwt",
        "IsLambda": mode == "lambda",
        "IsIam": mode == "iam",
        "MakeUserPool": False,
    }
    body = template["Resources"]["TokenApi"]["Properties"]["DefinitionBody"]
    for operation in [*body["paths"]["/token"].values(), *body["paths"]["/"].values()]:
        assert _choose(operation["security"], truth) == ([{scheme: []}] if scheme else [])
    defined = {
        name
        for name, definition in body["components"]["securitySchemes"].items()
        if _choose(definition, truth) != {"Ref": "AWS::NoValue"}
    }
    assert defined == ({scheme} if scheme else set())


def test_auth_mode_none_needs_an_explicit_opt_in(template: dict[str, Any]) -> None:
    assert template["Parameters"]["AuthMode"]["Default"] != "none"
    assert template["Parameters"]["AllowUnauthenticated"]["Default"] == "false"
    rule = template["Rules"]["NoneNeedsExplicitOptIn"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "none"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "AllowUnauthenticated"}, "true"]}


# --- the contract with the code -----------------------------------------------------------------


class RecordingEnviron(dict[str, str]):
    """An empty environment that remembers every variable name looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return super().__contains__(key)


def variables_read_by(build: Callable[[Mapping[str, str]], object]) -> set[str]:
    environ = RecordingEnviron()
    # Required variables are missing from the empty environment; the names are recorded anyway.
    with contextlib.suppress(ConfigError):
        build(environ)
    assert environ.asked, "the settings module read no variables through the mapping it was given"
    return environ.asked


def declared_variables(template: Mapping[str, Any], function: str) -> set[str]:
    common = template["Globals"]["Function"]["Environment"]["Variables"]
    own = template["Resources"][function]["Properties"]["Environment"]["Variables"]
    return set(common) | set(own)


def _rotator_settings(environ: Mapping[str, str]) -> object:
    from rotator.settings import RotatorSettings

    return RotatorSettings.read(environ)


def _vendor_settings(environ: Mapping[str, str]) -> object:
    from vendor.settings import VendorSettings

    return VendorSettings.from_environ(environ)


@pytest.mark.parametrize(
    ("function", "build"),
    [("RotatorFunction", _rotator_settings), ("VendorFunction", _vendor_settings)],
)
def test_template_declares_exactly_the_variables_the_settings_read(
    template: dict[str, Any], function: str, build: Callable[[Mapping[str, str]], object]
) -> None:
    read = variables_read_by(build)
    declared = declared_variables(template, function)
    assert read - declared == set(), "read by the settings but not declared in template.yaml"
    assert declared - read - POWERTOOLS_VARIABLES == set(), "declared in template.yaml but never read"


def _emitted_metrics(package: str) -> set[str]:
    """CamelCase string literals in a function's code: every metric name it can emit is one of them."""
    source = "\n".join(p.read_text() for p in (ROOT / package).glob("*.py"))
    return set(re.findall(r'"([A-Z][A-Za-z]+)"', source))


def test_alarms_watch_metrics_the_functions_emit(template: dict[str, Any]) -> None:
    namespace = {"Ref": "MetricsNamespace"}
    services = {
        template["Resources"][function]["Properties"]["Environment"]["Variables"][
            "POWERTOOLS_SERVICE_NAME"
        ]: package
        for function, package in (("RotatorFunction", "rotator"), ("VendorFunction", "vendor"))
    }
    watched: dict[str, set[str]] = {"rotator": set(), "vendor": set()}
    for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        if properties["Namespace"] != namespace:
            continue
        [dimension] = properties["Dimensions"]
        assert dimension["Name"] == "service"
        watched[services[dimension["Value"]]].add(properties["MetricName"])
    assert watched == {
        "rotator": {
            "RotationFailed",
            "KeyHoursLeft",
            "RevokeFailed",
            "OperatorActionRequired",
            "OrphanedKeys",
        },
        "vendor": {"VendFailed", "VendUnavailable", "PolicyRejected"},
    }
    for package, metrics in watched.items():
        assert metrics <= _emitted_metrics(package), (
            f"{package} does not emit {metrics - _emitted_metrics(package)}"
        )


@pytest.mark.parametrize("function", ["RotatorFunction", "VendorFunction"])
def test_handlers_name_importable_functions(template: dict[str, Any], function: str) -> None:
    properties = template["Resources"][function]["Properties"]
    module_name, _, attribute = properties["Handler"].rpartition(".")
    assert properties["CodeUri"] == module_name.split(".")[0] + "/"
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute))


def test_the_schedule_sends_the_event_the_rotator_parses(template: dict[str, Any]) -> None:
    from rotator.events import parse_event

    schedule = template["Resources"]["RotatorFunction"]["Properties"]["Events"]["Schedule"]["Properties"]
    assert schedule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}}
    assert schedule["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert parse_event(json.loads(schedule["Input"])) is not None
    assert json.loads(schedule["Input"]) == json.loads(
        (ROOT / "events" / "rotator" / "scheduled.json").read_text()
    )


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "Ref" in node:
            yield node["Ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_cors_is_all_or_nothing_and_survives_sams_key_renaming(template: dict[str, Any]) -> None:
    cors = template["Resources"]["TokenApi"]["Properties"]["CorsConfiguration"]
    condition, config, otherwise = cors["Fn::If"]
    assert (condition, otherwise) == ("HasCors", {"Ref": "AWS::NoValue"})
    assert set(config) >= {"AllowOrigins", "AllowMethods", "AllowHeaders"}
    # SAM renames AllowOrigins -> allowOrigins (etc.) by replacing text in the JSON of the whole
    # intrinsic, so a parameter named e.g. "CorsAllowOrigins" would be broken into "CorsallowOrigins".
    for name in _refs(config):
        assert not any(key in name for key in config), name


def test_sam_cli_pin_is_the_same_in_pyproject_and_makefile() -> None:
    """The Makefile installs the SAM CLI into its own tool env; pyproject documents the pin."""
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    extra = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["sam"]
    makefile = re.search(r"^SAM_VERSION := (\S+)$", (root / "Makefile").read_text(), re.MULTILINE)
    assert makefile is not None
    assert extra == [f"aws-sam-cli=={makefile.group(1)}"]


# --- the policy sources -------------------------------------------------------------------------


def _conditional_statement(template: Mapping[str, Any], function: str, condition: str) -> dict[str, Any]:
    policy = template["Resources"][function]["Properties"]["Policies"][0]
    (entry,) = [s for s in policy["Statement"] if s.get("Fn::If", [""])[0] == condition]
    _, statement, otherwise = entry["Fn::If"]
    assert otherwise == {"Ref": "AWS::NoValue"}, "no source configured: no permission"
    return dict(statement)


def test_the_vendor_may_read_the_one_policy_parameter_only(template: dict[str, Any]) -> None:
    statement = _conditional_statement(template, "VendorFunction", "HasPolicyParameter")
    assert statement["Action"] == "ssm:GetParameter"
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${VendingPolicyParameterName}"
    assert statement["Resource"] == {"Fn::Sub": arn}
    # the ARN is `parameter` + the name, so the name must start with "/" (and have no wildcard)
    pattern = re.compile(template["Parameters"]["VendingPolicyParameterName"]["AllowedPattern"])
    assert pattern.fullmatch("/keyguard/vending-policy")
    assert pattern.fullmatch("")
    assert not pattern.fullmatch("keyguard-policy")
    assert not pattern.fullmatch("/keyguard/*")


def test_the_vendor_may_read_the_one_appconfig_profile_only(template: dict[str, Any]) -> None:
    statement = _conditional_statement(template, "VendorFunction", "HasPolicyAppConfig")
    assert set(statement["Action"]) == {
        "appconfig:StartConfigurationSession",
        "appconfig:GetLatestConfiguration",
    }
    arn, names = statement["Resource"]["Fn::Sub"]
    assert arn.endswith(":application/${App}/environment/${Env}/configuration/${Profile}")
    split = {"Fn::Split": ["/", {"Ref": "VendingPolicyAppConfig"}]}
    assert names == {
        "App": {"Fn::Select": [0, split]},
        "Env": {"Fn::Select": [1, split]},
        "Profile": {"Fn::Select": [2, split]},
    }
    pattern = re.compile(template["Parameters"]["VendingPolicyAppConfig"]["AllowedPattern"])
    assert pattern.fullmatch("abc1234/def5678/ghi9012")
    assert not pattern.fullmatch("my app/prod/policy")
    assert not pattern.fullmatch("*/*/*")


def test_the_vendor_gets_the_source_the_stack_was_given(template: dict[str, Any]) -> None:
    variables = template["Resources"]["VendorFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["VENDING_POLICY_PARAMETER"] == {"Ref": "VendingPolicyParameterName"}
    assert variables["VENDING_POLICY_APPCONFIG"] == {"Ref": "VendingPolicyAppConfig"}
    assertions = template["Rules"]["PolicyIsRequired"]["Assertions"]
    assert len(assertions) == 4, "one source required, and at most one of the three"


# --- the dashboard ------------------------------------------------------------------------------


def dashboard(template: Mapping[str, Any]) -> dict[str, Any]:
    """The dashboard body as CloudFormation renders it (parameters at their defaults)."""
    body = template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    parameters = template["Parameters"]

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.endswith(".Arn"):
            return f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name.removesuffix('.Arn')}"
        if name in parameters:
            return str(parameters[name]["Default"])
        return {"AWS::StackName": "stack", "AWS::Region": "us-east-1"}[name]

    rendered: dict[str, Any] = json.loads(re.sub(r"\$\{([^}]+)\}", value, body))
    return rendered


def test_the_dashboard_is_on_by_default_and_optional(template: dict[str, Any]) -> None:
    assert template["Parameters"]["EnableDashboard"]["Default"] == "true"
    assert template["Conditions"]["MakeDashboard"] == {"Fn::Equals": [{"Ref": "EnableDashboard"}, "true"]}
    assert template["Resources"]["OperationsDashboard"]["Condition"] == "MakeDashboard"


def test_the_dashboard_draws_what_the_functions_emit(template: dict[str, Any]) -> None:
    widgets = dashboard(template)["widgets"]
    drawn = {
        (metric[1], metric[3])
        for widget in widgets
        if widget["type"] == "metric"
        for metric in widget["properties"]["metrics"]
    }
    namespace = template["Parameters"]["MetricsNamespace"]["Default"]
    assert all(
        metric[0] == namespace
        for w in widgets
        if w["type"] == "metric"
        for metric in w["properties"]["metrics"]
    )
    by_service = {
        "keyguard-rotator": _emitted_metrics("rotator"),
        "keyguard-vendor": _emitted_metrics("vendor"),
    }
    missing = {(name, service) for name, service in drawn if name not in by_service[service]}
    assert not missing, "drawn but never emitted"
    titles = " | ".join(w["properties"]["title"] for w in widgets if w["type"] == "metric")
    for topic in (
        "Hours left",
        "Rotations by outcome",
        "Vends by outcome",
        "Throttles",
        "Unavailable",
        "budget",
    ):
        assert topic in titles


def test_every_alarm_is_listed_and_its_threshold_drawn_where_its_metric_is(template: dict[str, Any]) -> None:
    widgets = dashboard(template)["widgets"]
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    listed = {arn.rsplit(":", 1)[1] for arn in alarm_widget["properties"]["alarms"]}
    assert listed == set(alarms)
    parameters = template["Parameters"]
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        if properties["Namespace"] != {"Ref": "MetricsNamespace"}:
            continue  # AWS/Lambda, AWS/SQS: in the alarm widget
        threshold = properties["Threshold"]
        if isinstance(threshold, dict):
            threshold = parameters[threshold["Ref"]]["Default"]
        showing = [
            w
            for w in widgets
            if w["type"] == "metric"
            and any(m[1] == properties["MetricName"] for m in w["properties"]["metrics"])
        ]
        assert showing, f"{name}: its metric is on no widget"
        lines = [a for w in showing for a in w["properties"].get("annotations", {}).get("horizontal", [])]
        assert any(a["value"] == float(threshold) and name in a["label"] for a in lines), name


def test_the_dashboard_threshold_follows_the_alarm_parameter(template: dict[str, Any]) -> None:
    body = template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    threshold = template["Resources"]["KeyHoursLeftAlarm"]["Properties"]["Threshold"]
    assert threshold == {"Ref": "HoursLeftAlarmThreshold"}
    assert '"value": ${HoursLeftAlarmThreshold}' in body
