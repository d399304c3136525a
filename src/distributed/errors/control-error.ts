/**
 * A control command (`stopServer`, `setVerbose`) that Redis would not take, most often
 * because the connection's ACL user lacks the admin role's rules.
 *
 * @example
 * ```ts
 * try {
 *   await store.stopServer('square', 'srv-1');
 * } catch (error) {
 *   if (error instanceof ControlError) console.error(error.message); // names the rules to add
 * }
 * ```
 */
export class ControlError extends Error {
  constructor(
    readonly service: string,
    readonly serverId: string,
    readonly command: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const hint = /NOPERM|EXECABORT/.test(reason)
      ? ' The Redis user needs the admin rules of docs/production.md: +multi +exec +rpush +pexpire, ' +
        'write access to the PREFIX:{TAG}:order:* keys and publish on PREFIX:{TAG}:control.'
      : '';
    super(`Could not send "${command}" to server ${serverId} of ${service}: ${reason}.${hint}`, { cause });
    this.name = 'ControlError';
  }
}
