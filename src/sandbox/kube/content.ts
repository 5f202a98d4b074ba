// Accept-header negotiation: full objects, metadata-only (PartialObjectMetadata), or 406; aggregated discovery and Tables are declined.
import type { JsonObject } from "../../model/fields.js";
import { notAcceptable } from "./status.js";

export type Representation = "full" | "metadata";

interface MediaRange {
  type: string;
  params: Map<string, string>;
}

function parseAccept(header: string): MediaRange[] {
  return header.split(",").map((entry) => {
    const [type = "", ...rest] = entry.split(";").map((p) => p.trim());
    const params = new Map<string, string>();
    for (const p of rest) {
      const eq = p.indexOf("=");
      if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
    }
    return { type: type.toLowerCase(), params };
  });
}

const OFFERED = ["application/json", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"];

/**
 * Picks the first acceptable entry of `accept`. Entries we do not serve (protobuf, `as=Table`, aggregated
 * discovery `as=APIGroupDiscoveryList`) are skipped, so clients that list a plain JSON fallback get it;
 * throws 406 when nothing acceptable is left. `allowMetadata` is false for discovery documents.
 */
export function negotiate(accept: string | undefined, allowMetadata: boolean): Representation {
  if (accept === undefined || accept.trim() === "") return "full";
  for (const range of parseAccept(accept)) {
    const as = range.params.get("as");
    if (range.type === "*/*" || range.type === "application/*") return "full";
    if (range.type !== "application/json") continue;
    if (as === undefined) return "full";
    const g = range.params.get("g");
    const v = range.params.get("v");
    if (allowMetadata && (as === "PartialObjectMetadata" || as === "PartialObjectMetadataList") && g === "meta.k8s.io" && (v === "v1" || v === "v1beta1")) return "metadata";
  }
  throw notAcceptable(OFFERED);
}

export const METADATA_API_VERSION = "meta.k8s.io/v1";

export function metadataContentType(list: boolean): string {
  return `application/json;as=${list ? "PartialObjectMetadataList" : "PartialObjectMetadata"};g=meta.k8s.io;v=v1`;
}

/** The object reduced to `PartialObjectMetadata`: never any data, spec or status. */
export function toPartial(obj: JsonObject): JsonObject {
  return { kind: "PartialObjectMetadata", apiVersion: METADATA_API_VERSION, metadata: obj["metadata"] };
}
