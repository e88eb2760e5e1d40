"""Observability through the official Azure SDKs for Python, unmodified: azure-mgmt-monitor
(diagnostic settings, metrics, metric definitions), azure-monitor-query (LogsQueryClient with a
custom endpoint, MetricsQueryClient) and azure-mgmt-appcontainers (the pool). Run by
emulator/tests/it/sdk_python.rs; settings come from the environment. Exits non-zero with a
message on the first failed expectation.

Flow: a diagnostic setting (categoryGroup allLogs) on the seeded environment and one
(AllMetrics) on a new pool send rows to the seeded workspace; a session prints a line; the line
and the allocation are found with KQL; the pool's metrics (first sample at the next minute
boundary of the emulator's clock) show the ready and the allocated session.
"""

import datetime
import os
import sys
import time
import uuid

import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.appcontainers import ContainerAppsAPIClient
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.monitor.models import DiagnosticSettingsResource, LogSettings, MetricSettings
from azure.monitor.query import (
    LogsQueryClient,
    LogsQueryStatus,
    MetricAggregationType,
    MetricsQueryClient,
)


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"missing environment variable {name}")
    return value


def expect(cond, what):
    if not cond:
        sys.exit(f"expectation failed: {what}")
    print(f"ok: {what}", flush=True)


def poll(what, fn, seconds):
    """fn() until it returns something truthy, at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > deadline:
            sys.exit(f"expectation failed: {what} (waited {seconds} s)")
        time.sleep(1)


endpoint = env("EMULATOR_ENDPOINT")
rg = env("EMULATOR_RESOURCE_GROUP")
sub = env("EMULATOR_SUBSCRIPTION_ID")
env_id = env("EMULATOR_ENVIRONMENT_ID")
workspace_id = env("EMULATOR_WORKSPACE_ID")
customer_id = env("EMULATOR_WORKSPACE_CUSTOMER_ID")
ARM = "https://management.azure.com/.default"

credential = ClientSecretCredential(
    env("EMULATOR_TENANT_ID"),
    env("EMULATOR_CLIENT_ID"),
    env("EMULATOR_CLIENT_SECRET"),
    authority=endpoint,
    disable_instance_discovery=True,
)
monitor = MonitorManagementClient(credential, sub, base_url=endpoint, credential_scopes=[ARM])
apps = ContainerAppsAPIClient(credential, sub, base_url=endpoint, credential_scopes=[ARM])

# 1. Diagnostic settings, as a user adds them.
categories = [c.name for c in monitor.diagnostic_settings_category.list(env_id)]
expect(
    {"AppEnvSessionConsoleLogs", "AppEnvSessionLifeCycleLogs", "AppEnvSessionPoolEventLogs"}
    <= set(categories),
    f"the environment offers the session categories ({categories})",
)
setting = monitor.diagnostic_settings.create_or_update(
    env_id,
    "to-workspace",
    DiagnosticSettingsResource(
        workspace_id=workspace_id,
        logs=[LogSettings(category_group="allLogs", enabled=True)],
    ),
)
expect(setting.logs[0].category_group == "allLogs", "the environment's setting is stored")

pool_name = "sdkmonitor"
pool = apps.container_apps_session_pools.begin_create_or_update(
    rg,
    pool_name,
    {
        "location": "eastus",
        "properties": {
            "environmentId": env_id,
            "poolManagementType": "Dynamic",
            "containerType": "CustomContainer",
            "scaleConfiguration": {"maxConcurrentSessions": 3, "readySessionInstances": 1},
            "dynamicPoolConfiguration": {
                "lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}
            },
            "customContainerTemplate": {
                "containers": [
                    {
                        "name": "app",
                        "image": "example.azurecr.io/app:v1",
                        "resources": {"cpu": 0.25, "memory": "0.5Gi"},
                    }
                ],
                "ingress": {"targetPort": 8080},
            },
        },
    },
    polling_interval=1,
).result()
expect(pool.properties.provisioning_state == "Succeeded", "the pool is created")
pool_id = pool.id
monitor.diagnostic_settings.create_or_update(
    pool_id,
    "metrics",
    DiagnosticSettingsResource(
        workspace_id=workspace_id,
        metrics=[MetricSettings(category="AllMetrics", enabled=True)],
    ),
)
names = [s.name for s in monitor.diagnostic_settings.list(pool_id)]
expect(names == ["metrics"], f"the pool's AllMetrics setting is listed ({names})")

# 2. A session prints a line (the data plane, with a token for its audience).
marker = f"hello-from-the-sdk-{uuid.uuid4().hex[:8]}"
token = credential.get_token("https://dynamicsessions.io/.default").token
resp = requests.post(
    f"{pool.properties.pool_management_endpoint.rstrip('/')}/log",
    params={"identifier": "sdk-user", "stream": "stdout", "line": marker},
    headers={"Authorization": f"Bearer {token}"},
    timeout=30,
)
expect(resp.status_code == 200, f"the session printed a line ({resp.status_code} {resp.text})")

# 3. Log Analytics with the SDK's own scope derivation from a custom endpoint.
logs = LogsQueryClient(credential, endpoint=endpoint + "/v1")
span = datetime.timedelta(hours=1)


def console_rows():
    r = logs.query_workspace(
        customer_id,
        f"AppEnvSessionConsoleLogs | where Log has '{marker}' "
        "| project TimeGenerated, SessionPoolName, Stream, Log, ContainerName",
        timespan=span,
    )
    return r.status == LogsQueryStatus.SUCCESS and r.tables[0].rows and r.tables[0]


table = poll("the console line reaches the workspace", console_rows, 30)
expect(
    table.columns == ["TimeGenerated", "SessionPoolName", "Stream", "Log", "ContainerName"],
    f"columns as projected ({table.columns})",
)
row = table.rows[0]
expect(isinstance(row[0], datetime.datetime), f"TimeGenerated is a datetime ({row[0]!r})")
expect(
    (row[1], row[2], row[3], row[4]) == (pool_name, "stdout", marker, "app"),
    f"the row is the session's line ({list(row)})",
)

r = logs.query_workspace(
    customer_id,
    "AppEnvSessionLifecycleLogs | where SessionPoolName == 'sdkmonitor' "
    "| summarize n = count() by OperationName",
    timespan=span,
)
ops = {op: n for op, n in r.tables[0].rows}
expect(ops.get("SessionAllocated") == 1, f"one allocation in the lifecycle table ({ops})")

try:
    logs.query_workspace(customer_id, "AppEnvSessionPoolEvents | take 1", timespan=span)
    expect(False, "a wrong table name is refused")
except HttpResponseError as e:
    text = str(e)
    expect(
        "SemanticError" in text and "AppEnvSessionPoolEventLogs" in text,
        "a near-miss table name is a SemanticError naming the real table",
    )

# 4. Metrics: the first sample comes at the next minute boundary of the emulator's clock.
metrics = MetricsQueryClient(credential, endpoint=endpoint)


def sampled():
    r = metrics.query_resource(
        pool_id,
        metric_names=["PoolReadyPodCount", "PoolExecutingPodCount", "PoolPendingPodCount"],
        timespan=datetime.timedelta(minutes=10),
        granularity=datetime.timedelta(minutes=1),
        aggregations=[MetricAggregationType.MAXIMUM, MetricAggregationType.AVERAGE],
    )
    points = {
        m.name: [p for ts in m.timeseries for p in ts.data if p.maximum is not None]
        for m in r.metrics
    }
    return points if all(points.values()) else None


points = poll("a metric sample within 75 s", sampled, 75)
expect(
    max(p.maximum for p in points["PoolExecutingPodCount"]) == 1,
    "MetricsQueryClient: one executing session",
)
expect(
    max(p.maximum for p in points["PoolReadyPodCount"]) >= 1,
    "MetricsQueryClient: the ready set was refilled",
)

now = datetime.datetime.now(datetime.timezone.utc)
span_text = f"{(now - datetime.timedelta(minutes=10)).isoformat()}/{now.isoformat()}"
listed = monitor.metrics.list(
    pool_id,
    timespan=span_text,
    interval="PT1M",
    metricnames="PoolExecutingPodCount",
    aggregation="Maximum,Total",
    filter="poolName eq '*'",
)
series = listed.value[0].timeseries
expect(
    listed.value[0].name.value == "PoolExecutingPodCount" and listed.value[0].unit == "Count",
    "MonitorManagementClient.metrics.list answers the metric",
)
expect(
    series and series[0].metadatavalues[0].value == pool_name,
    "the poolName dimension splits the series",
)
expect(
    max(d.maximum or 0 for d in series[0].data) == 1,
    "MonitorManagementClient.metrics.list: one executing session",
)
definitions = sorted(d.name.value for d in monitor.metric_definitions.list(pool_id))
expect(
    definitions == ["PoolExecutingPodCount", "PoolPendingPodCount", "PoolReadyPodCount"],
    f"metric definitions ({definitions})",
)


def azure_metrics():
    r = logs.query_workspace(
        customer_id,
        "AzureMetrics | where MetricName == 'PoolExecutingPodCount' | summarize max(Maximum)",
        timespan=span,
    )
    return r.tables[0].rows and r.tables[0].rows[0][0]


expect(
    poll("AllMetrics sends samples to AzureMetrics", azure_metrics, 10) == 1,
    "AzureMetrics has the sample",
)

# 5. Deleting the setting stops the flow.
monitor.diagnostic_settings.delete(env_id, "to-workspace")
expect(
    [s.name for s in monitor.diagnostic_settings.list(env_id)] == [],
    "the environment's setting is deleted",
)
print("SDK OK", flush=True)
