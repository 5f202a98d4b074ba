// The process logger: structured JSON from pino, with every record passed through the Redactor.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { Redactor } from "../runtime/redact.js";

export type { Logger };

export interface LoggerSettings {
  level: string;
  /** Where lines go; stdout by default. Tests pass a stream to read what was written. */
  destination?: DestinationStream;
  /** Fields on every line, e.g. `{ component: "credbroker" }`. */
  base?: Record<string, unknown>;
}

/**
 * Builds a pino logger whose fields, message strings, errors and their causes are scrubbed by
 * `redactor` (values it has registered, credential shapes, sensitive keys). No global state.
 */
export function createLogger(settings: LoggerSettings, redactor: Redactor): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: settings.base ?? { app: "credbroker" },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: "msg",
    // pino's own path redaction is the first, cheap layer for the usual header paths.
    redact: {
      paths: ["headers.authorization", "req.headers.authorization", "headers[\"x-vault-token\"]", "req.headers[\"x-vault-token\"]"],
      censor: "[REDACTED]",
    },
    serializers: {
      err: (err: unknown) => redactor.serializeError(err),
      error: (err: unknown) => redactor.serializeError(err),
    },
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redactor.scrubValue(object) as Record<string, unknown>,
      bindings: (bindings) => redactor.scrubValue(bindings) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args: unknown[], method) {
        // Format arguments (`log.info("x %s", value)`) are interpolated after this hook: scrub them here.
        const scrubbed = args.map((a, i) => (typeof a === "string" ? redactor.scrub(a) : i > 0 ? redactor.scrubValue(a) : a));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
  const logger = settings.destination ? pino(options, settings.destination) : pino(options);
  // pino renders child bindings once, without the log formatter: scrub them on the way in.
  // Children are created with Object.create(parent), so they inherit this override.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with each child's own `this`
  const child = logger.child;
  logger.child = function scrubbedChild(this: Logger, bindings, childOptions) {
    return child.call(this, redactor.scrubValue(bindings) as typeof bindings, childOptions);
  } as typeof logger.child;
  return logger;
}

export { Redactor };
