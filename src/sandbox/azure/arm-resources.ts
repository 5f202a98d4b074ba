// JSON shapes of ARM resources the emulator serves: sites (function apps), function envelopes, key lists, errors.
import type { FunctionApp, FunctionRecord } from "./function-apps.js";

/** ARM's error envelope `{error: {code, message}}`. */
export function armError(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

export function siteId(app: FunctionApp): string {
  return `/subscriptions/${app.subscriptionId}/resourceGroups/${app.resourceGroup}/providers/Microsoft.Web/sites/${app.name}`;
}

function defaultHostName(app: FunctionApp): string {
  return `${app.name.toLowerCase()}.azurewebsites.net`;
}

/** A `Microsoft.Web/sites` resource (a function app unless its kind says otherwise), with the properties clients read. */
export function siteResource(app: FunctionApp): Record<string, unknown> {
  const host = defaultHostName(app);
  return {
    id: siteId(app),
    name: app.name,
    type: "Microsoft.Web/sites",
    kind: app.kind,
    location: app.location,
    tags: {},
    properties: {
      state: app.state,
      hostNames: [host],
      enabledHostNames: [host, `${app.name.toLowerCase()}.scm.azurewebsites.net`],
      defaultHostName: host,
      enabled: true,
      usageState: "Normal",
      availabilityState: "Normal",
      resourceGroup: app.resourceGroup,
      serverFarmId: `/subscriptions/${app.subscriptionId}/resourceGroups/${app.resourceGroup}/providers/Microsoft.Web/serverfarms/${app.name}-plan`,
      reserved: false,
      httpsOnly: true,
      clientAffinityEnabled: false,
      sku: app.sku,
    },
  };
}

/** function.json's bindings: an HTTP trigger with the level as the seed spelled it (name or number), or a queue trigger. */
function bindingsOf(fn: FunctionRecord): Record<string, unknown>[] {
  if (fn.authLevel === undefined) return [{ type: "queueTrigger", direction: "in", name: "message", queueName: `${fn.name.toLowerCase()}-items`, connection: "AzureWebJobsStorage" }];
  return [
    { type: "httpTrigger", authLevel: fn.authLevel, direction: "in", name: "req", methods: ["get", "post"] },
    { type: "http", direction: "out", name: "res" },
  ];
}

/**
 * A `Microsoft.Web/sites/functions` envelope as ARM lists them (FunctionEnvelope in WebApps.json):
 * every property the spec types as a string is a string, and those ARM leaves empty are left out
 * rather than sent as null.
 */
export function functionEnvelope(app: FunctionApp, fn: FunctionRecord): Record<string, unknown> {
  const host = defaultHostName(app);
  const scm = `https://${app.name.toLowerCase()}.scm.azurewebsites.net`;
  const properties: Record<string, unknown> = {
    name: fn.name,
    function_app_id: siteId(app),
    script_root_path_href: `${scm}/admin/vfs/site/wwwroot/${fn.name}/`,
    script_href: `${scm}/admin/vfs/site/wwwroot/${fn.name}/index.js`,
    config_href: `${scm}/admin/vfs/site/wwwroot/${fn.name}/function.json`,
    test_data_href: `${scm}/admin/vfs/data/Functions/sampledata/${fn.name}.dat`,
    secrets_file_href: `${scm}/admin/vfs/data/Functions/secrets/${fn.name}.json`,
    href: `${scm}/admin/functions/${fn.name}`,
    config: { bindings: bindingsOf(fn), disabled: fn.isDisabled },
    language: "node",
    isDisabled: fn.isDisabled,
  };
  if (fn.authLevel !== undefined) properties.invoke_url_template = `https://${host}/api/${fn.name.toLowerCase()}`;
  return {
    id: `${siteId(app)}/functions/${fn.name}`,
    name: `${app.name}/${fn.name}`,
    type: "Microsoft.Web/sites/functions",
    location: app.location,
    properties,
  };
}

/** listFunctionKeys' answer: a StringDictionary (`{id, name, type, properties: {keyName: value}}`), as WebApps.json declares it. */
export function functionKeysResource(app: FunctionApp, fn: FunctionRecord): Record<string, unknown> {
  return { id: `${siteId(app)}/functions/${fn.name}/keys`, name: fn.name, type: "Microsoft.Web/sites/functions/keys", properties: { default: fn.key } };
}

/** listHostKeys' answer: HostKeys (`{masterKey, functionKeys, systemKeys}`). */
export function hostKeysResource(app: FunctionApp): Record<string, unknown> {
  return { masterKey: app.masterKey, functionKeys: { default: app.hostDefaultKey }, systemKeys: { ...app.systemKeys } };
}

/**
 * Microsoft.Web's own capitalised error body, which it sends for calls it proxies to the app's
 * host (a stopped app's function list and keys): `{Code, Message, Target, Details, Innererror}`
 * — `Target` and `Innererror` are null in Azure's answers and are left out here.
 */
export function webError(code: string, message: string): Record<string, unknown> {
  return { Code: code, Message: message, Details: [{ Message: message }, { Code: code }, { ErrorEntity: { Code: code, Message: message } }] };
}

/**
 * One page of a list: `{value, nextLink?}`. `nextLink` is absolute and keeps the caller's query
 * (api-version) plus `$skiptoken`, as ARM's are; the SDK follows it verbatim.
 */
export function page<T>(items: readonly T[], offset: number, pageSize: number, selfUrl: URL): { value: T[]; nextLink?: string } {
  const value = items.slice(offset, offset + pageSize);
  if (offset + pageSize >= items.length) return { value };
  const next = new URL(selfUrl);
  next.searchParams.set("$skiptoken", String(offset + pageSize));
  return { value, nextLink: next.toString() };
}
