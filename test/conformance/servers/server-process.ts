// The servers' child processes: spawned with their output in a log file, stopped by pid, and awaited with a bound.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";

const STOP_GRACE_MS = 5_000;
const EXIT_WAIT_MS = 10_000;

export interface ServerProcess {
  readonly name: string;
  readonly logPath: string;
  /** Size of the log file when this process started (the file is appended to across restarts). */
  readonly logStart: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<void>;
  running(): boolean;
  /** Sends `signal` if the process is still running; synchronous, never throws. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, SIGKILL after a grace period; resolves once exited, throws if it outlives SIGKILL. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL at once; resolves once exited, throws if it outlives SIGKILL. Idempotent. */
  killAndWait(): Promise<void>;
}

/**
 * Spawns `binary` with stdout and stderr appended to `logPath` (never the test's output). Where
 * util-linux `setpriv` exists, the child also gets a parent-death SIGKILL, which covers the runner being
 * SIGKILLed itself (no 'exit' handler runs then); setpriv execs, so the pid is the server's.
 */
export function spawnServer(name: string, binary: string, args: readonly string[], logPath: string, running: Set<ServerProcess>): ServerProcess {
  const logStart = existsSync(logPath) ? statSync(logPath).size : 0;
  const fd = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    const [command, argv] = existsSync("/usr/bin/setpriv") ? ["/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", binary, ...args]] : [binary, [...args]];
    child = spawn(command, argv, { stdio: ["ignore", fd, fd], detached: false });
  } finally {
    closeSync(fd);
  }
  let alive = child.pid !== undefined;
  const exited = new Promise<void>((resolve) => {
    const done = (): void => {
      alive = false;
      running.delete(proc);
      resolve();
    };
    child.once("exit", done);
    child.once("error", done); // spawn failure: the log tail and waitReady report it
  });
  let stopped: Promise<void> | undefined;
  const killed = async (): Promise<void> => {
    proc.kill("SIGKILL");
    if (!(await within(exited, EXIT_WAIT_MS))) throw new Error(`${name} (pid ${child.pid}) did not exit after SIGKILL`);
  };
  const proc: ServerProcess = {
    name,
    logPath,
    logStart,
    exited,
    running: () => alive,
    kill: (signal) => {
      if (!alive || child.pid === undefined) return;
      try {
        process.kill(child.pid, signal);
      } catch {
        // Already gone between the check and the signal.
      }
    },
    stop: () =>
      (stopped ??= (async () => {
        proc.kill("SIGTERM");
        if (!(await within(exited, STOP_GRACE_MS))) await killed();
      })()),
    killAndWait: () => (stopped ??= killed()),
  };
  if (alive) running.add(proc);
  return proc;
}

/** Polls `probe` until it answers true; throws with the log tail when `proc` exits first or time runs out. */
export async function waitReady(proc: ServerProcess, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.running()) throw new Error(`${proc.name} exited during start; tail of ${proc.logPath}:\n${logTail(proc)}`);
    if (await probe().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${proc.name} not ready after ${timeoutMs} ms; tail of ${proc.logPath}:\n${logTail(proc)}`);
}

/** The last `lines` lines this process wrote to its log (never throws). */
export function logTail(proc: ServerProcess, lines = 40): string {
  try {
    return readFileSync(proc.logPath).subarray(proc.logStart).toString("utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Three distinct free loopback ports: all are held open together so none repeats, then released. */
export async function freePorts(): Promise<[number, number, number]> {
  const listen = (): Promise<ReturnType<typeof createServer>> =>
    new Promise((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => resolve(s));
    });
  const servers = await Promise.all([listen(), listen(), listen()]);
  const port = (i: 0 | 1 | 2): number => (servers[i].address() as AddressInfo).port;
  const ports: [number, number, number] = [port(0), port(1), port(2)];
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Whether `promise` settles within `ms`. */
export function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Last resort for a runner that exits early: SIGKILLs every process in `running` and removes `dir`
 * on process exit (synchronously; a SIGKILLed runner runs no handler, spawnServer's parent-death
 * signal covers that). Returns the function that unregisters it, for a clean stop.
 */
export function cleanUpOnExit(running: ReadonlySet<ServerProcess>, dir: string): () => void {
  const onExit = (): void => {
    for (const p of running) p.kill("SIGKILL");
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A file still held by a dying process; the dir is under os.tmpdir() anyway.
    }
  };
  process.on("exit", onExit);
  return () => void process.off("exit", onExit);
}
