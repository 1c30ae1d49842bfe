/**
 * agentwrit-broker/client: the TypeScript SDK for apps, agents and resource servers. Node built-ins only; it
 * imports nothing from the broker and could ship as a package of its own.
 */
export { AgentWritApp, type AgentWritAppOptions, type CreateAgentOptions } from './app.js';
export { Agent, type DelegateOptions } from './agent.js';
export { validate } from './validate.js';
export { createVerifier, type Verifier, type VerifierOptions, type VerifyOptions } from './verifier.js';
export { scopeIsSubset, scopeCovers, isValidScope } from './scope.js';
export { closeSharedConnections } from './shared.js';
export type { TlsOptions } from './transport.js';
export type { DelegatedToken, DelegationRecord, HealthStatus, TokenClaims, ValidateResult } from './types.js';
export {
  AgentReleasedError,
  AgentWritError,
  AuthenticationError,
  AuthorizationError,
  ConfigurationError,
  ProblemError,
  RateLimitError,
  TransportError,
  VerificationError,
  type Problem,
  type TransportFailure,
  type VerifyCheck,
} from './errors.js';
