import { AgentWritError } from '../errors.js';
import { crc32 } from './crc32.js';

/**
 * Journal file layout: a 16-byte magic header, then records
 *   [crc32 u32le][payload length u32le][seq u64le][payload]
 * where the CRC covers everything after itself. Sequence numbers are consecutive, so a record that is intact but out
 * of order is corruption, not a torn write.
 */
export const JOURNAL_MAGIC = Buffer.from('AGENTWRIT-JRNL1\n', 'latin1');
export const RECORD_HEADER_BYTES = 16;
const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

export interface JournalRecord {
  seq: number;
  offset: number;
  end: number;
  payload: Buffer;
}

export interface JournalScan {
  records: JournalRecord[];
  /** Offset just past the last intact record (or the header); everything after it is a torn tail. */
  validEnd: number;
  /** Set when the file ends in an incomplete or damaged final record. */
  tornTail: { offset: number; bytes: number } | null;
  /** The file is empty or holds only part of the magic header (crash while it was being created). */
  headerMissing: boolean;
}

export class JournalCorruptError extends AgentWritError {
  override readonly name = 'JournalCorruptError';
  readonly code = 'AW_ERR_JOURNAL_CORRUPT';
}

export function encodeRecord(seq: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 4);
  out.writeUInt32LE(seq % 0x100000000, 8);
  out.writeUInt32LE(Math.floor(seq / 0x100000000), 12);
  payload.copy(out, RECORD_HEADER_BYTES);
  out.writeUInt32LE(crc32(out, 4), 0);
  return out;
}

interface Candidate {
  seq: number;
  end: number;
}

/** Parses a record header at `pos` and checks its CRC; null if anything about it is off. */
function readRecord(buf: Buffer, pos: number): Candidate | null {
  if (buf.length - pos < RECORD_HEADER_BYTES) return null;
  const len = buf.readUInt32LE(pos + 4);
  if (len > MAX_PAYLOAD_BYTES || len > buf.length - pos - RECORD_HEADER_BYTES) return null;
  const hi = buf.readUInt32LE(pos + 12);
  if (hi >= 0x200000) return null; // beyond Number.MAX_SAFE_INTEGER
  const seq = hi * 0x100000000 + buf.readUInt32LE(pos + 8);
  if (seq < 1) return null;
  const end = pos + RECORD_HEADER_BYTES + len;
  if (crc32(buf, pos + 4, end) !== buf.readUInt32LE(pos)) return null;
  return { seq, end };
}

/**
 * Whether an intact record with a later sequence number exists anywhere after `from`. This is what separates a torn
 * final write (nothing valid follows) from damage in the middle of the journal (acknowledged records follow).
 */
function intactRecordAfter(buf: Buffer, from: number, lastSeq: number | null): boolean {
  // Every record takes more than one byte, which bounds how far the sequence can have advanced.
  const minSeq = lastSeq === null ? 1 : lastSeq + 1;
  const maxSeq = lastSeq === null ? Number.MAX_SAFE_INTEGER : lastSeq + (buf.length - from);
  for (let pos = from; pos + RECORD_HEADER_BYTES <= buf.length; pos++) {
    const len = buf.readUInt32LE(pos + 4);
    if (len > buf.length - pos - RECORD_HEADER_BYTES) continue;
    const hi = buf.readUInt32LE(pos + 12);
    if (hi >= 0x200000) continue;
    const seq = hi * 0x100000000 + buf.readUInt32LE(pos + 8);
    if (seq < minSeq || seq > maxSeq) continue;
    if (readRecord(buf, pos) !== null) return true;
  }
  return false;
}

export function scanJournal(buf: Buffer, file: string): JournalScan {
  if (buf.length < JOURNAL_MAGIC.length) {
    if (JOURNAL_MAGIC.subarray(0, buf.length).equals(buf)) {
      return { records: [], validEnd: 0, tornTail: null, headerMissing: true };
    }
    throw new JournalCorruptError(`${file}: not an AgentWrit journal (bad header)`);
  }
  if (!buf.subarray(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC)) {
    throw new JournalCorruptError(`${file}: not an AgentWrit journal (bad header)`);
  }
  const records: JournalRecord[] = [];
  let pos = JOURNAL_MAGIC.length;
  let lastSeq = 0;
  while (pos < buf.length) {
    const rec = readRecord(buf, pos);
    if (rec === null) {
      if (intactRecordAfter(buf, pos + 1, records.length > 0 ? lastSeq : null)) {
        throw new JournalCorruptError(
          `${file}: damaged record at offset ${pos} is followed by intact records (journal corrupt in the middle)`,
        );
      }
      return { records, validEnd: pos, tornTail: { offset: pos, bytes: buf.length - pos }, headerMissing: false };
    }
    if (records.length > 0 && rec.seq !== lastSeq + 1) {
      throw new JournalCorruptError(`${file}: sequence jumps from ${lastSeq} to ${rec.seq} at offset ${pos}`);
    }
    records.push({
      seq: rec.seq,
      offset: pos,
      end: rec.end,
      payload: buf.subarray(pos + RECORD_HEADER_BYTES, rec.end),
    });
    lastSeq = rec.seq;
    pos = rec.end;
  }
  return { records, validEnd: pos, tornTail: null, headerMissing: false };
}
