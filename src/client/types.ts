/** Shapes of what the broker returns, in the SDK's camelCase where the SDK builds them. */

/** One hop of a delegation chain, as the broker signs and returns it. */
export interface DelegationRecord {
  agent: string;
  scope: string[];
  delegated_at: string;
  signature?: string;
}

/** The claims of a broker token (wire names, as in the JWT). */
export interface TokenClaims {
  iss: string;
  sub: string;
  aud?: string[];
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  sid?: string;
  scope: string[];
  task_id?: string;
  orch_id?: string;
  delegation_chain?: DelegationRecord[];
  chain_hash?: string;
}

export type ValidateResult = { valid: true; claims: TokenClaims } | { valid: false; error: string };

export interface HealthStatus {
  status: 'ok' | 'degraded';
  version: string;
  uptime: number;
  dbConnected: boolean;
  auditEventsCount: number;
}

export interface DelegatedToken {
  accessToken: string;
  expiresIn: number;
  delegationChain: DelegationRecord[];
  /** `{ Authorization: 'Bearer …' }` for the delegated token. */
  bearerHeader: { Authorization: string };
}
