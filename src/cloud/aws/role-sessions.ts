// The assumed-role sessions credbroker holds in memory: reused while fresh on AWS's clock, bounded, and dropped with their clients.
import type { AwsKeys } from "./aws-clients.js";

/** Sessions are reused until this long before they expire. */
const SESSION_MARGIN_MS = 5 * 60_000;
/** Sessions kept at most (one per credential, role and region in use). */
const MAX_SESSIONS = 10_000;

interface Session {
  keys: AwsKeys;
  /** On AWS's clock (the Expiration it gave). */
  expiresAtMs: number;
}

/**
 * Sessions by key (a fingerprint of the base credentials, role and region). Times are on AWS's
 * clock — the broker's plus the offset last measured — since AWS decides when a session ends.
 * `onDrop` is told of every session replaced, expired, evicted or refused, so the SDK clients made with
 * its keys go too. No I/O.
 */
export class RoleSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly onDrop: (keys: AwsKeys) => void) {}

  /** The session's keys while it has more than 5 minutes left at `awsNowMs`; else undefined. */
  fresh(key: string, awsNowMs: number): AwsKeys | undefined {
    const s = this.sessions.get(key);
    return s !== undefined && s.expiresAtMs - SESSION_MARGIN_MS > awsNowMs ? s.keys : undefined;
  }

  /** Stores a new session, dropping the one it replaces, expired ones and, past the bound, the oldest. */
  store(key: string, keys: AwsKeys, expiresAtMs: number, awsNowMs: number): void {
    const replaced = this.sessions.get(key);
    if (replaced !== undefined) this.drop(key, replaced);
    for (const [k, s] of this.sessions) if (s.expiresAtMs <= awsNowMs) this.drop(k, s);
    for (const [k, s] of this.sessions) {
      if (this.sessions.size < MAX_SESSIONS) break;
      this.drop(k, s);
    }
    this.sessions.set(key, { keys, expiresAtMs });
  }

  /**
   * Drops a session AWS refused (expired, revoked, not yet propagated), so the next call assumes
   * the role again. The session under `key` goes only if it still holds `keys` — a concurrent call
   * may already have replaced it with a fresh one — but the clients made with `keys` go either way.
   */
  forget(key: string, keys: AwsKeys): void {
    const s = this.sessions.get(key);
    if (s !== undefined && s.keys.accessKeyId === keys.accessKeyId) this.sessions.delete(key);
    this.onDrop(keys);
  }

  /** Sessions held now. */
  get size(): number {
    return this.sessions.size;
  }

  /** Forgets every session (without telling `onDrop`: the caller is closing the clients too). */
  clear(): void {
    this.sessions.clear();
  }

  private drop(key: string, session: Session): void {
    this.sessions.delete(key);
    this.onDrop(session.keys);
  }
}
