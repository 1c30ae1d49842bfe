/**
 * Every way awrit can fail, each tied to the exit code scripts branch on. Messages are single lines meant for
 * stderr; none of them may carry the admin secret or a token.
 */

export const EXIT = {
  ok: 0,
  /** The broker answered with a refusal (HTTP ≥ 300), something unusable, or an audit check failed. */
  refused: 1,
  usage: 2,
  unreachable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** Bad command line or environment: nothing was sent to the broker. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The command whose help explains the fix, e.g. `app register`; empty for the root. */
    readonly helpPath?: string,
  ) {
    super(message, EXIT.usage);
  }
}

export class RefusedError extends CliError {
  override readonly name = 'RefusedError';
  constructor(message: string) {
    super(message, EXIT.refused);
  }
}

export class UnreachableError extends CliError {
  override readonly name = 'UnreachableError';
  constructor(message: string) {
    super(message, EXIT.unreachable);
  }
}
