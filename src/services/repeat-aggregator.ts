/**
 * Folds floods of identical denial events into one audit row per window, so anonymous traffic cannot grow the
 * trail (or memory) without bound. The first occurrence in a window is recorded at once; repeats are counted and
 * summarized by `flush` (housekeeping) as one event with `| repeated=N`. The key set is capped; past the cap,
 * repeats fold into a single overflow entry.
 */
import { type AuditInput, boundAuditInput, clipAuditText, MAX_AUDIT_TEXT } from './audit.js';

interface Entry {
  event: AuditInput;
  windowStart: number;
  repeats: number;
}

const OVERFLOW_KEY = '\u0000overflow';

export class RepeatAggregator {
  private readonly entries = new Map<string, Entry>();
  /** Summaries of windows that ended when a new one began; written at the next flush. */
  private pending: AuditInput[] = [];

  constructor(
    private readonly windowMs = 60_000,
    private readonly maxKeys = 1024,
  ) {}

  /**
   * True when this event should be written now; false when it was counted as a repeat. `sameAs` names what counts
   * as the same event; by default its type, subject and detail.
   */
  admit(input: AuditInput, now = Date.now(), sameAs?: string): boolean {
    // Entries hold the event until flush: bound it first, so 1024 keys cannot pin megabytes of client text.
    let event = boundAuditInput(input);
    let key = sameAs ?? `${event.event_type}\u0000${event.agent_id ?? ''}\u0000${event.detail}`;
    let e = this.entries.get(key);
    if (e === undefined && this.entries.size >= this.maxKeys) {
      key = OVERFLOW_KEY;
      e = this.entries.get(key);
      event = {
        ...event,
        agent_id: '',
        task_id: '',
        orch_id: '',
        detail: `${event.event_type} (various)`,
        resource: '',
      };
    }
    if (e === undefined || now - e.windowStart >= this.windowMs) {
      if (e !== undefined && e.repeats > 0) {
        // A summary is owed for the window that just ended; keep it for flush and start counting afresh.
        this.entries.set(key, { event, windowStart: now, repeats: 0 });
        this.pending.push(summary(e));
        return true;
      }
      this.entries.set(key, { event, windowStart: now, repeats: 0 });
      return true;
    }
    e.repeats++;
    return false;
  }

  /** Summaries for windows that have ended, and forgets quiet keys. */
  flush(now = Date.now()): AuditInput[] {
    const out = this.pending;
    this.pending = [];
    for (const [key, e] of this.entries) {
      if (now - e.windowStart < this.windowMs) continue;
      if (e.repeats > 0) out.push(summary(e));
      this.entries.delete(key);
    }
    return out;
  }

  get size(): number {
    return this.entries.size;
  }
}

function summary(e: Entry): AuditInput {
  const count = ` | repeated=${e.repeats}`;
  // Clipped so that the count itself is never what the trail's length bound cuts off.
  return { ...e.event, detail: clipAuditText(e.event.detail, MAX_AUDIT_TEXT - count.length) + count };
}
