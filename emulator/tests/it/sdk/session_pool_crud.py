"""Drives the emulator with the official Azure SDK for Python (azure-identity +
azure-mgmt-appcontainers, api-version 2026-07-01 by default): create (LRO), get, list, update
(PATCH LRO) and delete (LRO, then 404) of a session pool with two containers, probes, secrets,
identities, managedIdentitySettings and a registry identity. Then a client of api-version
2026-03-02-preview: mcpServerSettings and templateUpdateStatus (read through the models' raw
mapping: the SDK's models have no such fields), fetchMcpServerCredentials /
rotateMcpServerCredentials through the client's send_request, and the MCP endpoint with the
key. Run by emulator/tests/it/sdk_python.rs; settings come from the environment. Exits non-zero
with a message on the first failed expectation."""

import os
import sys
import urllib.parse

import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.core.rest import HttpRequest
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
sub = env("EMULATOR_SUBSCRIPTION_ID")
name = "sdkpool"
ua = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pyworker"

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
    "identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {ua: {}}},
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
                },
                {
                    "name": "side",
                    "image": "example.azurecr.io/side:v1",
                    "command": ["/app/side"],
                    "args": ["--port", "9090"],
                    "env": [{"name": "PORT", "value": "9090"}],
                    "resources": {"cpu": 0.25, "memory": "0.5Gi"},
                    "probes": [{"type": "Startup", "tcpSocket": {"port": 9090}}],
                },
            ],
            "ingress": {"targetPort": 8080},
            "registryCredentials": {"server": "example.azurecr.io", "identity": ua},
        },
        "sessionNetworkConfiguration": {"status": "EgressDisabled"},
        "managedIdentitySettings": [
            {"identity": "system", "lifecycle": "Main"},
            {"identity": ua, "lifecycle": "None"},
        ],
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
containers = got.properties.custom_container_template.containers
expect([c.name for c in containers] == ["app", "side"], "both containers round-trip in order")
expect(
    containers[1].command == ["/app/side"] and containers[1].args == ["--port", "9090"],
    "command and args round-trip",
)
expect(containers[1].probes[0].tcp_socket.port == 9090, "the second container's probes round-trip")
expect(containers[1].resources.memory == "0.5Gi", "resources round-trip")
expect(
    got.properties.custom_container_template.registry_credentials.identity.lower() == ua.lower(),
    "registry identity round-trips",
)
expect(len(got.identity.principal_id) == 36 and len(got.identity.tenant_id) == 36, "system identity has a principal")
uas = {k.lower(): v for k, v in got.identity.user_assigned_identities.items()}
expect(len(uas[ua.lower()].client_id) == 36, "user-assigned identity has a client id")
mis = got.properties.managed_identity_settings
expect(
    [(m.identity.lower(), m.lifecycle) for m in mis] == [("system", "Main"), (ua.lower(), "None")],
    "managedIdentitySettings round-trip",
)

names = [p.name for p in pools.list_by_resource_group(rg)]
expect(name in names, f"list by resource group includes the pool ({names})")
names = [p.name for p in pools.list_by_subscription()]
expect(name in names, "list by subscription includes the pool")

patch = {"properties": {"scaleConfiguration": {"maxConcurrentSessions": 8}}}
updated = pools.begin_update(rg, name, patch, polling_interval=1).result()
expect(updated.properties.scale_configuration.max_concurrent_sessions == 8, "update (PATCH) applies")
expect(updated.properties.scale_configuration.ready_session_instances == 1, "update keeps the rest")
expect(len(updated.properties.custom_container_template.containers) == 2, "update keeps both containers")

pools.begin_delete(rg, name, polling_interval=1).result()
names = [p.name for p in pools.list_by_resource_group(rg)]
expect(name not in names, "delete removes the pool")
try:
    pools.get(rg, name)
    expect(False, "a deleted pool is 404")
except ResourceNotFoundError:
    expect(True, "a deleted pool is 404")

# --- 2026-03-02-preview: MCP settings, templateUpdateStatus, MCP credentials and endpoint.
PREVIEW = "2026-03-02-preview"
preview = ContainerAppsAPIClient(
    credential,
    sub,
    base_url=endpoint,
    credential_scopes=["https://management.azure.com/.default"],
    api_version=PREVIEW,
)
mcp_name = "sdkmcppool"
mcp_body = {
    "location": "eastus",
    "properties": {
        "environmentId": env("EMULATOR_ENVIRONMENT_ID"),
        "poolManagementType": "Dynamic",
        "containerType": "CustomContainer",
        "scaleConfiguration": {"maxConcurrentSessions": 2, "readySessionInstances": 1},
        "dynamicPoolConfiguration": {
            "lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}
        },
        "customContainerTemplate": {
            "containers": [
                {"name": "app", "image": "example.azurecr.io/app:v1", "resources": {"cpu": 0.25, "memory": "0.5Gi"}}
            ],
            "ingress": {"targetPort": 8080},
        },
        "sessionNetworkConfiguration": {"status": "EgressDisabled"},
        "mcpServerSettings": {"isMcpServerEnabled": True},
    },
}
created = preview.container_apps_session_pools.begin_create_or_update(
    rg, mcp_name, mcp_body, polling_interval=1
).result()
mcp = created.properties.get("mcpServerSettings") or {}
expect(mcp.get("isMcpServerEnabled") is True, "mcpServerSettings are stored and rendered")
ep = created.properties.pool_management_endpoint
expect(mcp.get("mcpServerEndpoint") == f"{ep}/mcp", "mcpServerEndpoint is the pool's /mcp")
status = created.properties.get("templateUpdateStatus") or {}
expect(
    status.get("activeTemplate", {}).get("containers", [{}])[0].get("image") == "example.azurecr.io/app:v1",
    "templateUpdateStatus shows the active template",
)
pool_url = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/sessionPools/{mcp_name}"


def action(verb):
    r = preview.send_request(HttpRequest("POST", f"{endpoint}{pool_url}/{verb}?api-version={PREVIEW}"))
    expect(r.status_code == 200, f"{verb} answers 200 ({r.status_code})")
    return r.json()["apiKey"]


def initialize(key):
    return requests.post(
        mcp["mcpServerEndpoint"],
        json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
        headers={"x-ms-apikey": key},
        timeout=30,
    )


key = action("fetchMcpServerCredentials")
r = initialize(key)
expect(r.status_code == 200 and r.json()["result"]["serverInfo"]["name"], "the MCP endpoint answers with the key")
rotated = action("rotateMcpServerCredentials")
expect(rotated != key, "rotation gives a new key")
expect(initialize(key).status_code == 401, "the old key stops working")
expect(initialize(rotated).status_code == 200, "the new key works")
stable = pools.get(rg, mcp_name)
expect(stable.properties.get("mcpServerSettings") is None, "2026-07-01 does not render mcpServerSettings")
poller = pools.begin_delete(rg, mcp_name, polling_interval=1)
poller.result()
expect(poller.status() == "Succeeded", f"delete LRO ends Succeeded ({poller.status()})")
print("SDK OK", flush=True)
