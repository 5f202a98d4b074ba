// What the API accepts: the reverify body and the list query, validated strictly into typed requests; the first problem is a 400 that names its field.
import { z } from "zod";
import { DNS_LABEL_RULE, DNS_SUBDOMAIN_RULE, isDnsLabel, isDnsSubdomain } from "../model/fields.js";
import { parseLabelSelector, type LabelSelector } from "../model/label-selector.js";
import { STATUS_STATES } from "../model/status-types.js";
import { invalid, type ApiError } from "./api-errors.js";

export const MAX_WAIT_SECONDS = 300;
export const DEFAULT_WAIT_SECONDS = 30;
export const MAX_PAGE = 5000;
export const DEFAULT_PAGE = 500;

export const VIEW_STATES = [...STATUS_STATES, "Unverified"] as const;
export const VIEW_TYPES = ["aws", "azure", "awsEc2"] as const;

export interface ReverifyRequest {
  namespace: string | undefined;
  name: string | undefined;
  labels: LabelSelector | undefined;
  wait: boolean;
  timeoutMs: number;
}

export interface ListQuery {
  namespace: string | undefined;
  state: (typeof VIEW_STATES)[number] | undefined;
  type: (typeof VIEW_TYPES)[number] | undefined;
  limit: number;
  /** The key the previous page ended at. */
  after: string | undefined;
}

const namespace = z.string({ error: "must be a string" }).refine(isDnsLabel, { error: `must be a namespace name: ${DNS_LABEL_RULE}` });
const name = z.string({ error: "must be a string" }).refine(isDnsSubdomain, { error: `must be an upstream name: ${DNS_SUBDOMAIN_RULE}` });

const reverifyBody = z
  .object({
    namespace: namespace.optional(),
    name: name.optional(),
    labelSelector: z.string({ error: "must be a string" }).optional(),
    wait: z.boolean({ error: "must be true or false" }).optional(),
    timeoutSeconds: z.number({ error: "must be a whole number of seconds" }).int({ error: "must be a whole number of seconds" }).min(1, { error: `must be from 1 to ${MAX_WAIT_SECONDS}` }).max(MAX_WAIT_SECONDS, { error: `must be from 1 to ${MAX_WAIT_SECONDS}` }).optional(),
  })
  .strict();

const DECIMAL = /^\d{1,6}$/;

const listQuery = z
  .object({
    namespace: namespace.optional(),
    state: z.enum(VIEW_STATES, { error: `must be one of ${VIEW_STATES.join(", ")}` }).optional(),
    type: z.enum(VIEW_TYPES, { error: `must be one of ${VIEW_TYPES.join(", ")}` }).optional(),
    limit: z
      .string({ error: "must be given once" })
      .regex(DECIMAL, { error: `must be a whole number from 1 to ${MAX_PAGE}` })
      .transform(Number)
      .refine((n) => n >= 1 && n <= MAX_PAGE, { error: `must be a whole number from 1 to ${MAX_PAGE}` })
      .optional(),
    continue: z.string({ error: "must be given once" }).max(1024, { error: "is not a token this API issued" }).optional(),
  })
  .strict();

/** The first zod issue as a 400 naming its field (an unknown field by its own name). */
function firstProblem(error: z.ZodError, whole: string): ApiError {
  const issue = error.issues[0];
  if (issue === undefined) return invalid(whole, "is not valid");
  if (issue.code === "unrecognized_keys") return invalid(issue.keys[0] ?? whole, whole === "body" ? "is not a field of this request" : "is not a parameter of this route");
  if (issue.path.length === 0) return invalid(whole, whole === "body" ? "must be a JSON object" : "is not valid");
  return invalid(issue.path.map(String).join("."), issue.message);
}

/** Parses a reverify body (already JSON-decoded). Throws ApiError (400) at the first problem. */
export function parseReverifyRequest(body: unknown): ReverifyRequest {
  const parsed = reverifyBody.safeParse(body);
  if (!parsed.success) throw firstProblem(parsed.error, "body");
  const b = parsed.data;
  if (b.name !== undefined && b.namespace === undefined) throw invalid("name", "requires namespace");
  if (b.timeoutSeconds !== undefined && b.wait !== true) throw invalid("timeoutSeconds", "applies only with wait: true");
  let labels: LabelSelector | undefined;
  if (b.labelSelector !== undefined) {
    try {
      labels = parseLabelSelector(b.labelSelector);
    } catch (err) {
      const message = err instanceof Error ? err.message.replace(/^labelSelector:\s*/, "") : "is not a label selector";
      throw invalid("labelSelector", message);
    }
  }
  return { namespace: b.namespace, name: b.name, labels, wait: b.wait === true, timeoutMs: (b.timeoutSeconds ?? DEFAULT_WAIT_SECONDS) * 1000 };
}

/** Parses the list query (express's parsed query object). Throws ApiError (400) at the first problem. */
export function parseListQuery(query: unknown): ListQuery {
  const parsed = listQuery.safeParse(query);
  if (!parsed.success) throw firstProblem(parsed.error, "query");
  const q = parsed.data;
  return { namespace: q.namespace, state: q.state, type: q.type, limit: q.limit ?? DEFAULT_PAGE, after: q.continue === undefined ? undefined : decodeContinue(q.continue) };
}

/** The continue token of a page that ended at `key`: opaque to callers, checked on the way back. */
export function encodeContinue(key: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after: key }), "utf8").toString("base64url");
}

function decodeContinue(token: string): string {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && "v" in value && value.v === 1 && "after" in value && typeof value.after === "string") return value.after;
  } catch {
    // fall through: not ours
  }
  throw invalid("continue", "is not a token this API issued");
}
