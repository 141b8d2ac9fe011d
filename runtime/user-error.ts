/**
 * runtime/user-error.ts — errors that are the user's to fix (a bad flag, a missing file, a
 * corrupt checkpoint). A program prints their message alone, without a stack trace, and exits
 * with their code; any other error is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "UserError";
  }
}

let installed = false;

/** Installs the process-wide handler that prints UserErrors as plain messages. */
export function reportUserErrorsPlainly(): void {
  if (installed) return;
  installed = true;
  process.on("uncaughtException", (error) => {
    if (error instanceof UserError) {
      process.stderr.write(`\nerror: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    process.stderr.write(`${error.stack ?? String(error)}\n`);
    process.exit(70);
  });
}
