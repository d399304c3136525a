// A memocell client of a Tcl DisTcl service. It starts tclsh running DisTcl's own server
// (serve.tcl and distcl.tcl from DISTCL_DIR) against the Redis, then calls the service
// with store.remote('mand', { protocol: 'distcl' }): values, words that Tcl must quote,
// a Tcl error, DisTcl's cache (a result is still answered after the server stopped),
// and forget.
//
// Run: npm run build && node examples/distcl-client.mjs
// Needs tclsh 8.6 (apt-get install -y tcl), DisTcl's code in DISTCL_DIR (default
// ../shared/peers/distcl, beside the repository), and a Redis on 127.0.0.1 (REDIS_URL,
// else a private redis-server it starts and stops; DisTcl's serve.tcl connects to
// 127.0.0.1 without a password). When one is missing it says which and exits with code 3.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, RemoteError, TimeoutError } from 'memocell';
import { openRedis } from './support/redis.mjs';
import { missing, startChild } from './support/children.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const distclDir = process.env.DISTCL_DIR ? path.resolve(process.env.DISTCL_DIR) : path.resolve(repoRoot, '../shared/peers/distcl');
const SERVER_ID = 'mand-tcl';

/** tclsh's version, or undefined when there is no tclsh to run. */
function tclshVersion() {
  const probe = spawnSync('tclsh', [], { input: 'puts [info patchlevel]\n', encoding: 'utf8', timeout: 10_000 });
  return probe.error === undefined && probe.status === 0 ? probe.stdout.trim() : undefined;
}

/** Where the Redis must be for DisTcl's serve.tcl, or why it cannot be used. */
function redisPortForTcl(url) {
  const parsed = new URL(url);
  if (!['127.0.0.1', 'localhost'].includes(parsed.hostname) || parsed.password !== '' || parsed.username !== '') {
    return undefined;
  }
  return parsed.port === '' ? '6379' : parsed.port;
}

/** Prints one call and what it gave: a value (quoted: DisTcl values are strings) or an error. */
async function show(label, call) {
  let outcome;
  try {
    outcome = `'${await call()}'`;
  } catch (error) {
    if (error instanceof RemoteError) outcome = `RemoteError ${error.remoteName}: ${error.remoteMessage}`;
    else if (error instanceof TimeoutError) outcome = `TimeoutError after ${error.timeoutMs} ms`;
    else throw error;
  }
  console.log(`  ${label.padEnd(24)} -> ${outcome}`);
}

async function main() {
  const version = tclshVersion();
  if (version === undefined) missing('tclsh', 'install Tcl 8.6 (apt-get install -y tcl)');
  for (const file of ['distcl.tcl', 'serve.tcl', 'retcl-shim.tcl']) {
    if (!existsSync(path.join(distclDir, file))) {
      missing(`DisTcl's code (${file})`, `it is not in ${distclDir}: set DISTCL_DIR to the folder holding DisTcl's Tcl files`);
    }
  }
  const redis = await openRedis();
  if (redis === undefined) missing('a Redis', 'set REDIS_URL, or install redis-server (apt-get install -y redis-server)');
  const port = redisPortForTcl(redis.url);
  if (port === undefined) {
    await redis.stop();
    missing('a Redis on 127.0.0.1 without a password', "DisTcl's serve.tcl connects nowhere else; unset REDIS_URL to use a private redis-server");
  }

  const store = connect(redis.url);
  let tcl;
  try {
    tcl = startChild('tclsh', [path.join(distclDir, 'serve.tcl'), port, 'mand', SERVER_ID]);
    // DisTcl's serve says this on stderr as it starts serving.
    await tcl.line(/Control queue is 'z:mand-tcl'/);
    console.log(`A DisTcl server (tclsh ${version}, serve.tcl from DISTCL_DIR, pid ${tcl.pid}) serves 'mand'.`);

    const mand = store.remote('mand', { protocol: 'distcl', timeoutMs: 10_000 });
    console.log('memocell calls it:');
    await show('square 12', () => mand('square', 12));
    await show('repeat 3 ab', () => mand('repeat', 3, 'ab'));
    await show("echo 'a b' '{x' 'naïve'", () => mand('echo', 'a b', '{x', 'naïve'));
    await show('fizz', () => mand('fizz'));

    await tcl.kill('SIGTERM');
    console.log('The Tcl server is stopped now. It kept square 12 for 600 s, in DisTcl\'s cache:');
    await show('square 12', () => mand('square', 12));
    await mand.forget('square', 12);
    // The request stays queued for the next DisTcl server of 'mand', as in DisTcl.
    console.log("After mand.forget('square', 12), nothing answers it: a DisTcl get waits for a server.");
    const impatient = store.remote('mand', { protocol: 'distcl', timeoutMs: 1_000 });
    await show('square 12', () => impatient('square', 12));
  } finally {
    await tcl?.kill('SIGTERM');
    await store.close();
    await redis.stop();
  }
}

await main();
