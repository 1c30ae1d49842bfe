/** POST /v1/register — every input is checked for shape here; the registration itself is one operation. */
import { decodeBase64Std } from '../crypto/base64.js';
import { RequestError } from '../errors.js';
import { registerAgent } from '../services/operations/register.js';
import type { Services } from '../services/services.js';
import { isValidSegment } from '../services/spiffe.js';
import type { Handler } from '../transport/pipeline.js';
import { checkLengths, readJson } from './body.js';

const SCHEMA = {
  launch_token: 'string',
  nonce: 'string',
  public_key: 'string',
  signature: 'string',
  orch_id: 'string',
  task_id: 'string',
  requested_scope: 'strings',
} as const;

const REQUIRED = ['launch_token', 'nonce', 'public_key', 'signature', 'orch_id', 'task_id'] as const;

export function register(s: Services): Handler {
  return async (ctx) => {
    const b = readJson(ctx, SCHEMA);
    try {
      for (const f of REQUIRED) {
        if (!b[f]) throw new RequestError('invalid_request', `missing required field: ${f}`);
      }
      const requested = b.requested_scope ?? [];
      if (requested.length === 0) throw new RequestError('invalid_request', 'missing required field: requested_scope');
      checkLengths(b);
      const { launch_token = '', nonce = '', public_key = '', signature = '', orch_id = '', task_id = '' } = b;
      for (const [name, v] of [
        ['orch_id', orch_id],
        ['task_id', task_id],
      ] as const) {
        if (!isValidSegment(v)) {
          throw new RequestError(
            'invalid_request',
            `invalid ${name}: use 1-128 characters of A-Z a-z 0-9 . _ - (not "." or "..")`,
          );
        }
      }
      const { agentId, issued } = await registerAgent(s, {
        launchToken: launch_token,
        nonce,
        publicKeyText: public_key,
        publicKey: decodeBase64Std(public_key),
        signature: decodeBase64Std(signature),
        orchId: orch_id,
        taskId: task_id,
        requestedScope: requested,
      });
      return { status: 200, json: { agent_id: agentId, access_token: issued.token, expires_in: issued.ttl } };
    } catch (err) {
      s.metrics.registrations.failure.inc();
      throw err;
    }
  };
}
