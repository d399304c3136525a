/**
 * `memocell serve MODULE`: serve the memoised functions a module exports, in this
 * process or in `--workers N` supervised child processes.
 */
import type { CommandSpec } from '../args.js';
import type { Command } from '../command.js';
import { loadMemos, moduleUrl } from '../serve/load-module.js';
import { runServers } from '../serve/run-servers.js';
import { superviseWorkers, WORKER_ENV } from '../serve/supervisor.js';
import { warn } from '../output.js';
import { openRedis, redisSettings, REDIS_OPTIONS } from '../redis.js';

const spec: CommandSpec = {
  name: 'serve',
  usage: 'serve MODULE [options]',
  summary: 'serve the memoised functions a module exports',
  description: `Imports MODULE (a path, resolved against the working directory, or a package
name) and serves every export made by store.memo(name, fn): this process
computes requests for them, from any process, with up to --concurrency at
once per function. Prints one line per server started and stopped:
  serving NAME id=SERVER_ID pid=PID concurrency=N
  stopped NAME id=SERVER_ID pid=PID

The module makes its memos with its own store, so it should connect with
connect(process.env.REDIS_URL): serve sets REDIS_URL from --redis, and
MEMOCELL_PREFIX (the default prefix of Redis stores) from --prefix, before
importing it. Memos on an embedded store are refused.

With --workers N, N child processes each serve the module. A worker that dies
unexpectedly is restarted after a backoff (250 ms, doubling, at most 30 s).

SIGINT or SIGTERM stops gracefully: in-flight work finishes, then the process
exits 0; a second one exits at once (130). 'memocell stop SERVER_ID' stops one
server; a process (or worker) whose servers have all stopped exits 0.`,
  positionals: { names: ['MODULE'], min: 1, max: 1 },
  options: [
    { name: 'only', type: 'string', value: 'NAME', multiple: true, description: 'serve only this service (repeatable, or a comma list)' },
    { name: 'concurrency', type: 'integer', value: 'N', description: 'requests each server computes at once (default: 1)' },
    { name: 'workers', type: 'integer', value: 'N', min: 0, description: 'serve from N supervised child processes\n(default: 0, serve in this process)' },
    { name: 'verbose', type: 'boolean', description: 'log each request on stderr' },
    ...REDIS_OPTIONS,
  ],
  examples: [
    'memocell serve ./services.mjs',
    'memocell serve ./services.mjs --only square,cube --concurrency 4 --workers 2',
    'REDIS_URL=redis://cache:6379 memocell serve my-services-package',
  ],
};

export const serve: Command = {
  spec,
  async run(parsed) {
    const specifier = parsed.positionals[0] as string;
    const only = parsed.strings('only');
    const concurrency = parsed.integer('concurrency') ?? 1;
    const workers = parsed.integer('workers') ?? 0;
    const verbose = parsed.flag('verbose');
    const settings = redisSettings(spec, parsed);
    // Fail fast (exit 3) rather than leave the module's store reconnecting forever.
    (await openRedis(settings)).disconnect();
    process.env.REDIS_URL = settings.url;
    process.env.MEMOCELL_PREFIX = settings.prefix;
    const url = moduleUrl(specifier, process.cwd());
    const worker = process.env[WORKER_ENV] !== undefined;
    if (!worker) warn(`memocell: serving ${specifier} on ${settings.redacted}, prefix ${settings.prefix}`);

    if (workers > 0) {
      // Redis and prefix reach the workers through the environment, which keeps the
      // URL's password out of their command lines.
      return superviseWorkers(workers, [
        'serve',
        url,
        '--concurrency',
        String(concurrency),
        '--connect-timeout',
        String(settings.connectTimeoutMs),
        ...(only.length > 0 ? ['--only', only.join(',')] : []),
        ...(verbose ? ['--verbose'] : []),
      ]);
    }
    const memos = await loadMemos(url, specifier, only);
    return runServers(memos, { concurrency, verbose, worker });
  },
};
