/** The command tree. */
import type { CommandSpec } from '../command.js';
import type { GroupSpec } from '../spec.js';
import { appCommands } from './app.js';
import { auditArchive } from './audit-archive.js';
import { auditEvents } from './audit-events.js';
import { auditVerify } from './audit-verify.js';
import { init } from './init.js';
import { keyCommands } from './key.js';
import { revoke } from './revoke.js';
import { tokenRelease } from './token.js';

export const GROUPS: readonly GroupSpec[] = [
  { name: 'app', summary: 'Manage apps (client credentials with a scope ceiling)' },
  { name: 'audit', summary: 'Query, archive and verify the audit trail' },
  { name: 'key', summary: "Rotate and list the broker's signing keys" },
  { name: 'token', summary: 'Act on a token with the token itself' },
];

export const COMMANDS: readonly CommandSpec[] = [
  ...appCommands,
  auditArchive,
  auditEvents,
  auditVerify,
  init,
  ...keyCommands,
  revoke,
  tokenRelease,
];
