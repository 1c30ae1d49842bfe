import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeRecord, JOURNAL_MAGIC, JournalCorruptError, scanJournal } from '../../src/store/journal-format.js';
import { timestampKey } from '../../src/store/timestamps.js';

function journal(from: number, count: number): Buffer {
  const recs = Array.from({ length: count }, (_, i) => encodeRecord(from + i, Buffer.from(`[{"n":${from + i}}]`)));
  return Buffer.concat([JOURNAL_MAGIC, ...recs]);
}

test('intact journal scans to its end', () => {
  const buf = journal(41, 5);
  const scan = scanJournal(buf, 'j');
  assert.deepEqual(
    scan.records.map((r) => r.seq),
    [41, 42, 43, 44, 45],
  );
  assert.equal(scan.validEnd, buf.length);
  assert.equal(scan.tornTail, null);
  assert.equal(scan.records[2]!.payload.toString(), '[{"n":43}]');
});

test('a final record cut short or followed by garbage is a torn tail', () => {
  const buf = journal(1, 4);
  const lastStart = scanJournal(buf, 'j').records[3]!.offset;
  for (const cut of [buf.length - 1, lastStart + 3, lastStart + 17]) {
    const scan = scanJournal(buf.subarray(0, cut), 'j');
    assert.equal(scan.records.length, 3);
    assert.equal(scan.validEnd, lastStart);
    assert.deepEqual(scan.tornTail, { offset: lastStart, bytes: cut - lastStart });
  }
  const flipped = Buffer.from(buf);
  flipped[buf.length - 2]! ^= 0xff;
  assert.equal(scanJournal(flipped, 'j').records.length, 3);
  const zeros = Buffer.concat([buf, Buffer.alloc(4096)]);
  assert.deepEqual(scanJournal(zeros, 'j').tornTail, { offset: buf.length, bytes: 4096 });
});

test('damage followed by intact records is corruption, not a torn tail', () => {
  const buf = journal(1, 6);
  const second = scanJournal(buf, 'j').records[1]!;
  const damaged = Buffer.from(buf);
  damaged[second.offset + 20]! ^= 0x01;
  assert.throws(
    () => scanJournal(damaged, '/x/data.db.awj'),
    (e: Error) => e instanceof JournalCorruptError && /data\.db\.awj.*middle/.test(e.message),
  );
  // Damage to the very first record, with later records intact, is corruption too.
  const first = Buffer.from(buf);
  first[JOURNAL_MAGIC.length + 4]! ^= 0x40;
  assert.throws(() => scanJournal(first, 'j'), JournalCorruptError);
});

test('an intact record out of sequence or a foreign header is corruption', () => {
  const gap = Buffer.concat([journal(1, 2), encodeRecord(4, Buffer.from('[]'))]);
  assert.throws(() => scanJournal(gap, 'j'), /sequence jumps from 2 to 4/);
  assert.throws(() => scanJournal(Buffer.from('SQLite format 3\0 and more bytes'), 'j'), /not an AgentWrit journal/);
  assert.equal(scanJournal(JOURNAL_MAGIC.subarray(0, 5), 'j').headerMissing, true);
  assert.equal(scanJournal(Buffer.alloc(0), 'j').headerMissing, true);
});

test('timestamp keys order instants regardless of fractional digits and offsets', () => {
  const a = timestampKey('2025-01-01T00:00:05Z')!;
  const b = timestampKey('2025-01-01T00:00:05.1Z')!;
  const c = timestampKey('2025-01-01T00:00:05.123456789Z')!;
  assert.ok(a < b && b < c);
  assert.ok('2025-01-01T00:00:05.1Z' < '2025-01-01T00:00:05Z', 'plain text order is wrong, hence the key');
  assert.equal(timestampKey('2025-01-01T02:00:05.5+02:00'), timestampKey('2025-01-01T00:00:05.500Z'));
  assert.equal(timestampKey('yesterday'), null);
});
