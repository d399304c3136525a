// Live remote results: one process observes a memoised result, another process changes
// what it depends on, and the observer sees the recomputed value arrive.
//
// This process serves `forecast(city)` and observes forecast('Oslo'). A second process,
// the writer, which has no body for forecast (it calls it with store.remote), changes
// things twice:
//   1. it writes a new reading to the weather station's file, which forecast reads
//      outside the store, so it tells every process with forecast.forget('Oslo');
//   2. it sets the shared input `edition`, which forecast reads through the store, so
//      everything computed from the old edition is forgotten without being asked.
// Each time, the observer here prints the recomputed value.
//
// Run: npm run build && node examples/live-remote.mjs
// Needs Redis, since the writer is a process of its own: REDIS_URL, else a private
// redis-server it starts and stops. With neither it says so and exits with code 3.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'memocell';
import { openRedis } from './support/redis.mjs';
import { missing, startChild } from './support/children.mjs';

/** The station's readings: a file, standing for a database the store knows nothing of. */
function writeReadings(file, readings) {
  writeFileSync(file, JSON.stringify(readings));
}

/** The writer: changes things when the observer tells it to, until its stdin closes. */
async function writer() {
  const { LIVE_REDIS_URL: url, LIVE_PREFIX: prefix, LIVE_STATION: station } = process.env;
  const store = connect({ redis: url, prefix });
  const forecast = store.remote('live.forecast');
  const edition = store.input('live.edition');
  let step = 0;
  const lines = [];
  let wake;
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    lines.push(...chunk.split('\n').filter(Boolean));
    wake?.();
  });
  process.stdin.on('end', async () => {
    await store.close();
    process.exit(0);
  });
  console.log('ready');
  for (;;) {
    if (lines.length === 0) await new Promise((resolve) => (wake = resolve));
    const [command, ...words] = lines.shift().split(' ');
    if (command === 'reading') {
      const [city, celsius] = words;
      writeReadings(station, { [city]: Number(celsius) });
      await forecast.forget(city);
    } else if (command === 'edition') {
      await edition.set(Number(words[0]));
    }
    console.log(`done ${++step}`);
  }
}

/** Values an Observable emitted, taken one at a time, in order. */
function valuesOf(observable) {
  const values = [];
  let wake;
  let failure;
  const subscription = observable.subscribe({
    next: (value) => {
      values.push(value);
      wake?.();
    },
    error: (error) => {
      failure = error;
      wake?.();
    },
  });
  return {
    async next(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (values.length === 0) {
        if (failure) throw failure;
        if (Date.now() > deadline) throw new Error(`no new value within ${timeoutMs} ms`);
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      return values.shift();
    },
    stop: () => subscription.unsubscribe(),
  };
}

async function main() {
  const redis = await openRedis();
  if (redis === undefined) {
    missing('a Redis (the writer is a separate process)', 'set REDIS_URL, or install redis-server (apt-get install -y redis-server)');
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'memocell-live-'));
  const station = path.join(dir, 'readings.json');
  writeReadings(station, { Oslo: 12 });
  // Keys of this run under a prefix of their own: on a shared REDIS_URL the edition
  // starts at 1 again, not where an earlier run left it.
  const prefix = `live-example-${process.pid}-${Date.now().toString(36)}`;
  const store = connect({ redis: redis.url, prefix });
  let observed;
  let other;
  try {
    const edition = store.input('live.edition', 1);
    const forecast = store.memo('live.forecast', async (city) => {
      const readings = JSON.parse(await readFile(station, 'utf8'));
      return `${city}: ${readings[city]}°C (edition ${await edition.get()})`;
    });
    store.serve(forecast);

    console.log("Observing forecast('Oslo') in this process, which serves it too.");
    observed = valuesOf(forecast.observe('Oslo'));
    console.log(`  observed: ${await observed.next()}`);

    const env = { ...process.env, LIVE_REDIS_URL: redis.url, LIVE_PREFIX: prefix, LIVE_STATION: station };
    other = startChild(process.execPath, [fileURLToPath(import.meta.url), '--writer'], { env });
    await other.line(/^ready$/);
    console.log(`Writer process started (pid ${other.pid}).`);

    other.send('reading Oslo 14');
    await other.line(/^done 1$/);
    console.log("writer: the station now reads 14°C for Oslo; forecast.forget('Oslo')");
    console.log(`  observed: ${await observed.next()}`);

    other.send('edition 2');
    await other.line(/^done 2$/);
    console.log('writer: edition.set(2)');
    console.log(`  observed: ${await observed.next()}`);
  } finally {
    observed?.stop();
    await other?.stop();
    await store.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--writer') await writer();
else await main();
