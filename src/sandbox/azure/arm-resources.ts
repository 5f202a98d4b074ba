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

/** A `Microsoft.Web/sites` resource of kind `functionapp`, with the properties clients read. */
export function siteResource(app: FunctionApp): Record<string, unknown> {
  const host = defaultHostName(app);
  return {
    id: siteId(app),
    name: app.name,
    type: "Microsoft.Web/sites",
    kind: "functionapp",
    location: app.location,
    tags: {},
    properties: {
      name: app.name,
      state: app.state,
      hostNames: [host],
      enabledHostNames: [host, `${app.name.toLowerCase()}.scm.azurewebsites.net`],
      defaultHostName: host,
      enabled: app.state === "Running",
      usageState: "Normal",
      availabilityState: "Normal",
      resourceGroup: app.resourceGroup,
      serverFarmId: `/subscriptions/${app.subscriptionId}/resourceGroups/${app.resourceGroup}/providers/Microsoft.Web/serverfarms/${app.name}-plan`,
      reserved: false,
      httpsOnly: true,
      clientAffinityEnabled: false,
      kind: "functionapp",
    },
  };
}

/** Authorization levels as function.json spells them (and as ARM echoes them in bindings). */
const FUNCTION_JSON_AUTH_LEVEL = { anonymous: "anonymous", function: "function", admin: "admin" } as const;

/** A `Microsoft.Web/sites/functions` envelope with an HTTP trigger binding, as ARM lists them. */
export function functionEnvelope(app: FunctionApp, fn: FunctionRecord): Record<string, unknown> {
  const host = defaultHostName(app);
  const scm = `https://${app.name.toLowerCase()}.scm.azurewebsites.net`;
  return {
    id: `${siteId(app)}/functions/${fn.name}`,
    name: `${app.name}/${fn.name}`,
    type: "Microsoft.Web/sites/functions",
    location: app.location,
    properties: {
      name: fn.name,
      function_app_id: null,
      script_root_path_href: `${scm}/admin/vfs/site/wwwroot/${fn.name}/`,
      script_href: `${scm}/admin/vfs/site/wwwroot/${fn.name}/index.js`,
      config_href: `${scm}/admin/vfs/site/wwwroot/${fn.name}/function.json`,
      test_data_href: `${scm}/admin/vfs/data/Functions/sampledata/${fn.name}.dat`,
      secrets_file_href: null,
      href: `${scm}/admin/functions/${fn.name}`,
      config: {
        bindings: [
          { type: "httpTrigger", authLevel: FUNCTION_JSON_AUTH_LEVEL[fn.authLevel], direction: "in", name: "req", methods: ["get", "post"] },
          { type: "http", direction: "out", name: "res" },
        ],
        disabled: fn.isDisabled,
      },
      files: null,
      test_data: null,
      invoke_url_template: `https://${host}/api/${fn.name.toLowerCase()}`,
      language: "node",
      isDisabled: fn.isDisabled,
    },
  };
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
