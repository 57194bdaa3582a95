/**
 * The CLI's own errors. Everything else it reports is a ScalewiseError from the packages it
 * uses (NOT_FOUND, DEPENDENCY_UNAVAILABLE, SCHEMA_VIOLATION, ...), printed as one line.
 */

/** Bad flags or arguments: exit status 2, the message then the command's usage. */
export class UsageError extends Error {
  /** The command whose usage to print (`trigger scale`), or undefined for the top level. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}
