/** The `awrit` executable: real argv, environment and streams. */
import { run } from './run.js';

// A closed pipe (`awrit audit events | head`) is not an error worth a stack trace.
process.stdout.on('error', () => undefined);

const code = await run(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
process.exitCode = code;
