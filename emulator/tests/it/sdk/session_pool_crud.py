"""Drives the emulator with the official Azure SDK for Python (azure-identity +
azure-mgmt-appcontainers): create (LRO), get, list, update (PATCH LRO) and delete (LRO) of a
session pool. Run by emulator/tests/it/sdk_python.rs; settings come from the environment.
Exits non-zero with a message on the first failed expectation."""

import os
import sys
import urllib.parse

from azure.identity import ClientSecretCredential
from azure.mgmt.appcontainers import ContainerAppsAPIClient


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"missing environment variable {name}")
    return value


def expect(cond, what):
    if not cond:
        sys.exit(f"expectation failed: {what}")
    print(f"ok: {what}", flush=True)


endpoint = env("EMULATOR_ENDPOINT")
rg = env("EMULATOR_RESOURCE_GROUP")
name = "sdkpool"

# The emulator is not a known Azure cloud: MSAL would otherwise ask
# login.microsoftonline.com to validate the authority, which needs the internet and does not
# know this host. With discovery disabled, MSAL reads the emulator's own OpenID configuration.
credential = ClientSecretCredential(
    env("EMULATOR_TENANT_ID"),
    env("EMULATOR_CLIENT_ID"),
    env("EMULATOR_CLIENT_SECRET"),
    authority=endpoint,
    disable_instance_discovery=True,
)
client = ContainerAppsAPIClient(
    credential,
    env("EMULATOR_SUBSCRIPTION_ID"),
    base_url=endpoint,
    credential_scopes=["https://management.azure.com/.default"],
)
pools = client.container_apps_session_pools

body = {
    "location": "eastus",
    "tags": {"origin": "python-sdk"},
    "properties": {
        "environmentId": env("EMULATOR_ENVIRONMENT_ID"),
        "poolManagementType": "Dynamic",
        "containerType": "CustomContainer",
        "scaleConfiguration": {"maxConcurrentSessions": 5, "readySessionInstances": 1},
        "secrets": [{"name": "pw", "value": "hunter2"}],
        "dynamicPoolConfiguration": {
            "lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}
        },
        "customContainerTemplate": {
            "containers": [
                {
                    "name": "app",
                    "image": "example.azurecr.io/app:v1",
                    "env": [{"name": "PW", "secretRef": "pw"}],
                    "resources": {"cpu": 0.25, "memory": "0.5Gi"},
                    "probes": [{"type": "Liveness", "httpGet": {"path": "/health", "port": 8080}}],
                }
            ],
            "ingress": {"targetPort": 8080},
        },
        "sessionNetworkConfiguration": {"status": "EgressDisabled"},
    },
}

created = pools.begin_create_or_update(rg, name, body, polling_interval=1).result()
expect(created.name == name, f"create returns the pool ({created.name})")
expect(created.properties.provisioning_state == "Succeeded", "create polls to Succeeded")

got = pools.get(rg, name)
expect(got.properties.scale_configuration.max_concurrent_sessions == 5, "get shows the scale")
pool_ep = urllib.parse.urlsplit(got.properties.pool_management_endpoint)
emu = urllib.parse.urlsplit(endpoint)
expect(
    (pool_ep.scheme, pool_ep.hostname) == (emu.scheme, emu.hostname)
    and pool_ep.port != emu.port and pool_ep.path in ("", "/"),
    "the pool's endpoint is an origin of its own on the emulator's host",
)
probes = got.properties.custom_container_template.containers[0].probes
expect(probes[0].type == "Liveness" and probes[0].http_get.port == 8080, "probes round-trip")
expect(all(s.value is None for s in got.properties.secrets), "secret values are not returned")

names = [p.name for p in pools.list_by_resource_group(rg)]
expect(name in names, f"list by resource group includes the pool ({names})")
names = [p.name for p in pools.list_by_subscription()]
expect(name in names, "list by subscription includes the pool")

patch = {"properties": {"scaleConfiguration": {"maxConcurrentSessions": 8}}}
updated = pools.begin_update(rg, name, patch, polling_interval=1).result()
expect(updated.properties.scale_configuration.max_concurrent_sessions == 8, "update (PATCH) applies")
expect(updated.properties.scale_configuration.ready_session_instances == 1, "update keeps the rest")

pools.begin_delete(rg, name, polling_interval=1).result()
names = [p.name for p in pools.list_by_resource_group(rg)]
expect(name not in names, "delete removes the pool")
print("SDK OK", flush=True)
