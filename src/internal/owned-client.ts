/**
 * The one life cycle of a client a check owns (part of the check kit, see
 * ./README.md): created on first use, never at import; a failed create is
 * forgotten, so the next run tries again (a rejected promise is never cached);
 * closed once, and the close bounded by a deadline.
 */
import { LATE, withDeadline } from "../core/util.js";

export interface OwnedClient<T, C = void> {
  /** The client, created on the first call (from that call's `context`); concurrent first calls share one create. */
  get(context: C): Promise<T>;
  /** Closes the client if one was made (once; a later get() makes a new one), giving up after `deadlineMs`. */
  close(): Promise<void>;
}

export interface OwnedClientOptions<T, C> {
  /** Makes the client; `context` is what the run that needs it knows (its timeout, say). */
  create(context: C): Promise<T>;
  close?(client: T): unknown;
  /**
   * How long closing may take before it is abandoned (a client that waits forever
   * for a server that is gone must not hold up a shutdown).
   * @default 1000
   */
  closeDeadlineMs?: number;
  /** Called when the deadline passes first: cut what close() could not end. */
  onCloseLate?(client: T): unknown;
}

export function ownedClient<T, C = void>(options: OwnedClientOptions<T, C>): OwnedClient<T, C> {
  let current: Promise<T> | undefined;
  return {
    get(context) {
      if (current === undefined) {
        const creating = options.create(context);
        current = creating;
        creating.catch(() => {
          if (current === creating) current = undefined;
        });
      }
      return current;
    },
    async close() {
      const closing = current;
      current = undefined;
      const client = await closing?.catch(() => undefined);
      if (client === undefined || options.close === undefined) return;
      const closed = await withDeadline(Promise.resolve().then(() => options.close!(client)).catch(() => undefined), options.closeDeadlineMs ?? 1000);
      if (closed === LATE) await Promise.resolve().then(() => options.onCloseLate?.(client)).catch(() => undefined);
    },
  };
}
