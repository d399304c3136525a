/** What every subcommand module exports: its declaration (for parsing and help) and its body. */
import type { CommandSpec, Parsed } from './args.js';

export interface Command {
  readonly spec: CommandSpec;
  /** Runs the command; resolves with the exit code (see ExitCode), or throws (a CliError says which code). */
  run(parsed: Parsed): Promise<number>;
}
