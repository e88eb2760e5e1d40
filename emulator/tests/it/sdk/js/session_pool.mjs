// Drives the emulator with the official Azure SDK for JavaScript (@azure/identity +
// @azure/arm-appcontainers, api-version 2026-07-01 by default): create (LRO) a pool with two
// containers, probes, secrets, identities and managedIdentitySettings; get, list, update
// (PATCH LRO), delete (LRO, then 404). Then, through the same client's pipeline (its models
// have no MCP fields), the 2026-03-02-preview shape: mcpServerSettings, templateUpdateStatus,
// fetchMcpServerCredentials / rotateMcpServerCredentials and the MCP endpoint with the key.
// Run by emulator/tests/it/sdk_js.rs; settings come from the environment. Exits non-zero
// with a message on the first failed expectation; prints "SDK OK" at the end.

import { ClientSecretCredential } from "@azure/identity";
import { ContainerAppsAPIClient } from "@azure/arm-appcontainers";
import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineRequest,
} from "@azure/core-rest-pipeline";

function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return value;
}

function expect(cond, what) {
  if (!cond) {
    console.error(`expectation failed: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

const endpoint = env("EMULATOR_ENDPOINT");
const sub = env("EMULATOR_SUBSCRIPTION_ID");
const rg = env("EMULATOR_RESOURCE_GROUP");
const poll = { updateIntervalInMs: 500 };

// The emulator is not a known Azure cloud: with instance discovery off, MSAL reads the
// emulator's own OpenID configuration.
const credential = new ClientSecretCredential(
  env("EMULATOR_TENANT_ID"),
  env("EMULATOR_CLIENT_ID"),
  env("EMULATOR_CLIENT_SECRET"),
  { authorityHost: endpoint, disableInstanceDiscovery: true },
);
const client = new ContainerAppsAPIClient(credential, sub, {
  endpoint,
  credentials: { scopes: ["https://management.azure.com/.default"] },
});
const pools = client.containerAppsSessionPools;

const name = "jssdkpool";
const ua = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/jsworker`;
// The SDK's model is flat (no `properties` level); its serializer nests the fields.
const pool = {
  location: "eastus",
  tags: { origin: "js-sdk" },
  identity: { type: "SystemAssigned,UserAssigned", userAssignedIdentities: { [ua]: {} } },
  environmentId: env("EMULATOR_ENVIRONMENT_ID"),
  poolManagementType: "Dynamic",
  containerType: "CustomContainer",
  scaleConfiguration: { maxConcurrentSessions: 4, readySessionInstances: 1 },
  secrets: [{ name: "pw", value: "hunter2" }],
  dynamicPoolConfiguration: {
    lifecycleConfiguration: { lifecycleType: "OnContainerExit", maxAlivePeriodInSeconds: 600 },
  },
  customContainerTemplate: {
    containers: [
      {
        name: "app",
        image: "example.azurecr.io/app:v1",
        command: ["/app/server"],
        args: ["--port", "8080"],
        env: [{ name: "PW", secretRef: "pw" }, { name: "MODE", value: "js" }],
        resources: { cpu: 0.5, memory: "1Gi" },
        probes: [
          { type: "Liveness", httpGet: { path: "/health", port: 8080 }, periodSeconds: 5 },
          { type: "Startup", tcpSocket: { port: 8080 }, failureThreshold: 10 },
        ],
      },
      {
        name: "side",
        image: "example.azurecr.io/side:v1",
        env: [{ name: "PORT", value: "9090" }],
        resources: { cpu: 0.25, memory: "0.5Gi" },
      },
    ],
    ingress: { targetPort: 8080 },
    registryCredentials: { server: "example.azurecr.io", identity: ua },
  },
  sessionNetworkConfiguration: { status: "EgressEnabled" },
  managedIdentitySettings: [
    { identity: "system", lifecycle: "Main" },
    { identity: ua, lifecycle: "None" },
  ],
};

const created = await pools.createOrUpdate(rg, name, pool, poll);
expect(created.name === name, `create returns the pool (${created.name})`);
expect(created.provisioningState === "Succeeded", "create polls to Succeeded");

const got = await pools.get(rg, name);
const p = got;
expect(got.tags?.origin === "js-sdk", "tags round-trip");
expect(p.scaleConfiguration.maxConcurrentSessions === 4, "scale round-trips");
expect(
  p.dynamicPoolConfiguration.lifecycleConfiguration.lifecycleType === "OnContainerExit" &&
    p.dynamicPoolConfiguration.lifecycleConfiguration.maxAlivePeriodInSeconds === 600,
  "lifecycle round-trips",
);
const containers = p.customContainerTemplate.containers;
expect(
  containers.map((c) => c.name).join(",") === "app,side",
  "both containers round-trip in order",
);
expect(
  containers[0].command[0] === "/app/server" && containers[0].args.join(" ") === "--port 8080",
  "command and args round-trip",
);
expect(containers[0].env[0].secretRef === "pw", "env secretRef round-trips");
expect(containers[1].resources.memory === "0.5Gi", "resources round-trip");
const probes = containers[0].probes;
expect(
  probes.length === 2 &&
    probes[0].type === "Liveness" &&
    probes[0].httpGet.port === 8080 &&
    probes[1].tcpSocket.port === 8080,
  "probes round-trip",
);
expect(
  p.customContainerTemplate.registryCredentials.identity.toLowerCase() === ua.toLowerCase(),
  "registry identity round-trips",
);
expect(p.sessionNetworkConfiguration.status === "EgressEnabled", "egress round-trips");
expect((p.secrets ?? []).every((s) => s.value === undefined || s.value === null), "secret values are not returned");
expect(
  /^[0-9a-f-]{36}$/.test(got.identity.principalId) && /^[0-9a-f-]{36}$/.test(got.identity.tenantId),
  "system-assigned identity gets a principal and tenant",
);
const uaEntry = Object.entries(got.identity.userAssignedIdentities).find(
  ([k]) => k.toLowerCase() === ua.toLowerCase(),
);
expect(uaEntry && /^[0-9a-f-]{36}$/.test(uaEntry[1].clientId), "user-assigned identity gets a client id");
const mis = p.managedIdentitySettings;
expect(
  mis.length === 2 && mis[0].identity.toLowerCase() === "system" && mis[0].lifecycle === "Main",
  "managedIdentitySettings round-trip",
);
const poolEp = new URL(p.poolManagementEndpoint);
const emu = new URL(endpoint);
expect(
  poolEp.hostname === emu.hostname && poolEp.port !== emu.port && poolEp.pathname === "/",
  "the pool's endpoint is an origin of its own",
);

const names = [];
for await (const x of pools.listByResourceGroup(rg)) names.push(x.name);
expect(names.includes(name), `list by resource group includes the pool (${names})`);
const all = [];
for await (const x of pools.listBySubscription()) all.push(x.name);
expect(all.includes(name), "list by subscription includes the pool");

const updated = await pools.update(
  rg,
  name,
  { scaleConfiguration: { maxConcurrentSessions: 6 } },
  poll,
);
expect(updated.scaleConfiguration.maxConcurrentSessions === 6, "update (PATCH) applies");
expect(updated.customContainerTemplate.containers.length === 2, "update keeps the rest");

await pools.delete(rg, name, poll);
let status = 0;
try {
  await pools.get(rg, name);
} catch (e) {
  status = e.statusCode;
}
expect(status === 404, `delete ends in 404 (${status})`);

// --- The 2026-03-02-preview shape through the SDK's pipeline (auth and retries included).
const http = createDefaultHttpClient();
// ARM calls go through the client's pipeline (its bearer token); MCP calls carry only the key.
async function send(method, url, body, headers = {}) {
  const request = createPipelineRequest({
    url,
    method,
    headers: createHttpHeaders({ "content-type": "application/json", ...headers }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const res = headers["x-ms-apikey"]
    ? await http.sendRequest(request)
    : await client.pipeline.sendRequest(http, request);
  return { status: res.status, body: res.bodyAsText ? JSON.parse(res.bodyAsText) : null };
}
const preview = "2026-03-02-preview";
const mcpName = "jsmcppool";
const mcpPath = `${endpoint}/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.App/sessionPools/${mcpName}`;
const mcpPool = {
  location: "eastus",
  properties: {
    environmentId: pool.environmentId,
    poolManagementType: "Dynamic",
    containerType: "CustomContainer",
    scaleConfiguration: { maxConcurrentSessions: 2, readySessionInstances: 1 },
    secrets: pool.secrets,
    dynamicPoolConfiguration: {
      lifecycleConfiguration: { lifecycleType: "Timed", cooldownPeriodInSeconds: 300 },
    },
    customContainerTemplate: {
      containers: pool.customContainerTemplate.containers.map(({ probes, ...c }) => c),
      ingress: { targetPort: 8080 },
    },
    sessionNetworkConfiguration: { status: "EgressDisabled" },
    mcpServerSettings: { isMcpServerEnabled: true },
  },
};
let r = await send("PUT", `${mcpPath}?api-version=${preview}`, mcpPool);
expect(r.status === 201, `PUT with mcpServerSettings is 201 (${r.status} ${JSON.stringify(r.body?.error)})`);
for (let i = 0; i < 100 && r.body.properties.provisioningState !== "Succeeded"; i++) {
  await new Promise((ok) => setTimeout(ok, 200));
  r = await send("GET", `${mcpPath}?api-version=${preview}`);
}
const mcp = r.body.properties.mcpServerSettings;
expect(mcp.isMcpServerEnabled === true && !mcp.isMcpServerApiKeyDisabled, "mcpServerSettings are stored");
expect(mcp.mcpServerEndpoint === `${r.body.properties.poolManagementEndpoint}/mcp`, "mcpServerEndpoint is the pool's /mcp");
expect(
  r.body.properties.templateUpdateStatus.activeTemplate.containers.length === 2,
  "templateUpdateStatus shows the active template",
);
const key = (await send("POST", `${mcpPath}/fetchMcpServerCredentials?api-version=${preview}`)).body.apiKey;
expect(typeof key === "string" && key.length >= 32, "fetchMcpServerCredentials returns the key");
const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: {} };
r = await send("POST", mcp.mcpServerEndpoint, init, { "x-ms-apikey": key });
expect(r.status === 200 && r.body.result.serverInfo.name.length > 0, "the MCP endpoint answers with the key");
const rotated = (await send("POST", `${mcpPath}/rotateMcpServerCredentials?api-version=${preview}`)).body.apiKey;
expect(rotated !== key, "rotateMcpServerCredentials returns a new key");
r = await send("POST", mcp.mcpServerEndpoint, init, { "x-ms-apikey": key });
expect(r.status === 401, "the old key stops working");
r = await send("POST", mcp.mcpServerEndpoint, init, { "x-ms-apikey": rotated });
expect(r.status === 200, "the new key works");
r = await send("GET", `${mcpPath}?api-version=2026-07-01`);
expect(r.body.properties.mcpServerSettings === undefined, "2026-07-01 does not render mcpServerSettings");
await pools.delete(rg, mcpName, poll);

console.log("SDK OK");
