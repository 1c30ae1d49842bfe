import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cidr } from '../../src/config/cidr.js';
import { anyCidrContains, cidrContains, parseCidr, parseIpBytes } from '../../src/config/cidr.js';

function must(text: string): Cidr {
  const c = parseCidr(text);
  assert.ok(c !== null, `expected ${text} to parse`);
  return c;
}

describe('parseCidr accepts', () => {
  const cases: [string, 4 | 6, number, string][] = [
    ['10.0.0.0/8', 4, 8, '10.0.0.0/8'],
    ['10.1.2.3/8', 4, 8, '10.0.0.0/8'],
    ['192.168.1.7', 4, 32, '192.168.1.7/32'],
    ['0.0.0.0/0', 4, 0, '0.0.0.0/0'],
    ['255.255.255.255/32', 4, 32, '255.255.255.255/32'],
    ['172.16.5.4/12', 4, 12, '172.16.0.0/12'],
    ['::1', 6, 128, '::1/128'],
    ['::/0', 6, 0, '::/0'],
    ['fd00::/8', 6, 8, 'fd00::/8'],
    ['2001:DB8::1/32', 6, 32, '2001:db8::/32'],
    ['2001:db8:0:0:1:0:0:1', 6, 128, '2001:db8::1:0:0:1/128'],
    ['fe80::/10', 6, 10, 'fe80::/10'],
    ['::ffff:10.0.0.0/104', 6, 104, '::ffff:a00:0/104'],
    ['::ffff:192.0.2.1', 6, 128, '::ffff:c000:201/128'],
    ['1:2:3:4:5:6:7:8/128', 6, 128, '1:2:3:4:5:6:7:8/128'],
    ['1::/16', 6, 16, '1::/16'],
    ['1:0:0:2:0:0:0:3', 6, 128, '1:0:0:2::3/128'],
    ['64:ff9b::192.0.2.33/128', 6, 128, '64:ff9b::c000:221/128'],
  ];
  for (const [text, family, prefix, canonical] of cases) {
    it(text, () => {
      const c = must(text);
      assert.equal(c.family, family);
      assert.equal(c.prefix, prefix);
      assert.equal(c.text, canonical);
    });
  }
});

describe('parseCidr rejects', () => {
  const bad = [
    '',
    '/8',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/-1',
    '10.0.0.0/08',
    '10.0.0.0/8/8',
    '10.0.0/8',
    '10.0.0.0.0',
    '256.0.0.1',
    '01.2.3.4',
    '1.2.3.04',
    ' 10.0.0.0/8',
    '10.0.0.0/8 ',
    '10.0.0.0 /8',
    '::/129',
    '[::1]',
    '[::1]/128',
    'fe80::1%eth0',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    'g::',
    'localhost',
    '10.0.0.0/8a',
    '::ffff:1.2.3',
    '1.2.3.4::',
    '0x0a.0.0.1',
  ];
  for (const text of bad) {
    it(JSON.stringify(text), () => assert.equal(parseCidr(text), null));
  }
});

describe('parseIpBytes', () => {
  it('maps IPv4 into ::ffff:0:0/96 and parses embedded IPv4 tails', () => {
    assert.deepEqual(
      Array.from(parseIpBytes('1.2.3.4')?.bytes ?? []),
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4],
    );
    assert.deepEqual(
      Array.from(parseIpBytes('::1.2.3.4')?.bytes ?? []),
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
    );
    assert.deepEqual(
      Array.from(parseIpBytes('1:2:3:4:5:6:7.8.9.10')?.bytes ?? []),
      [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 7, 8, 9, 10],
    );
    assert.deepEqual(
      Array.from(parseIpBytes('abcd::ef')?.bytes ?? []),
      [0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xef],
    );
  });
});

describe('cidrContains', () => {
  const table: [string, string, boolean][] = [
    ['127.0.0.0/8', '127.0.0.1', true],
    ['127.0.0.0/8', '127.255.255.255', true],
    ['127.0.0.0/8', '128.0.0.1', false],
    ['127.0.0.0/8', '::ffff:127.0.0.1', true],
    ['127.0.0.0/8', '::FFFF:127.0.0.1', true],
    ['127.0.0.0/8', '::ffff:7f00:1', true],
    ['127.0.0.0/8', '::127.0.0.1', false],
    ['127.0.0.0/8', '::1', false],
    ['10.0.0.0/8', '10.200.3.4', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['192.168.1.7', '192.168.1.7', true],
    ['192.168.1.7', '192.168.1.8', false],
    ['192.168.1.7', '::ffff:192.168.1.7', true],
    ['10.0.0.128/25', '10.0.0.127', false],
    ['10.0.0.128/25', '10.0.0.128', true],
    ['10.0.0.5/31', '10.0.0.4', true],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '::ffff:8.8.8.8', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['::1', '::1', true],
    ['::1', '0:0:0:0:0:0:0:1', true],
    ['::1', '127.0.0.1', false],
    ['fd00::/8', 'fd12:3456::1', true],
    ['fd00::/8', 'fe00::1', false],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['fe80::/10', 'febf::1', true],
    ['fe80::/10', 'fec0::1', false],
    ['2001:db8::/127', '2001:db8::1', true],
    ['2001:db8::/127', '2001:db8::2', false],
    ['::ffff:0:0/96', '1.2.3.4', true],
    ['::ffff:10.0.0.0/104', '10.9.8.7', true],
    ['::ffff:10.0.0.0/104', '11.0.0.1', false],
    ['::/0', '2001:db8::1', true],
    ['10.0.0.0/8', 'not-an-ip', false],
    ['10.0.0.0/8', '', false],
    ['10.0.0.0/8', '10.0.0.1 ', false],
    ['::/0', '[::1]', false],
  ];
  for (const [cidr, ip, want] of table) {
    it(`${cidr} ${want ? 'contains' : 'does not contain'} ${JSON.stringify(ip)}`, () => {
      assert.equal(cidrContains(must(cidr), ip), want);
    });
  }

  it('anyCidrContains checks every block', () => {
    const list = ['10.0.0.0/8', '::1'].map(must);
    assert.equal(anyCidrContains(list, '::1'), true);
    assert.equal(anyCidrContains(list, '::ffff:10.1.1.1'), true);
    assert.equal(anyCidrContains(list, '192.168.0.1'), false);
    assert.equal(anyCidrContains([], '10.0.0.1'), false);
  });
});
