/**
 * agentwrit-broker/client: the TypeScript SDK for apps, agents and resource servers. Node built-ins only; it
 * imports nothing from the broker and could ship as a package of its own.
 */

export { Agent, type DelegateOptions } from './agent.js';
export { AgentWritApp, type AgentWritAppOptions, type CreateAgentOptions } from './app.js';
export {
  AgentReleasedError,
  AgentWritError,
  AuthenticationError,
  AuthorizationError,
  ConfigurationError,
  type Problem,
  ProblemError,
  RateLimitError,
  TransportError,
  type TransportFailure,
  VerificationError,
  type VerifyCheck,
} from './errors.js';
export { isValidScope, scopeCovers, scopeIsSubset } from './scope.js';
export { closeSharedConnections } from './shared.js';
export type { TlsOptions } from './transport.js';
export type { DelegatedToken, DelegationRecord, HealthStatus, TokenClaims, ValidateResult } from './types.js';
export { validate } from './validate.js';
export { createVerifier, type Verifier, type VerifierOptions, type VerifyOptions } from './verifier.js';
