// A counting TCP proxy in front of Redis, used only by the command-count part of the
// benchmark (never while timing). Give each process its own proxy and every command
// it sends is attributed to it, pipelines and MULTI blocks included, which neither
// INFO commandstats (server-wide) nor MONITOR (no process, no batching) can tell.
//
// Per connection it parses the RESP requests the client sends and counts:
//   - commands, by name (top-level only: what runs inside a Lua script is not sent);
//   - exchanges: the client sends one or more commands and then gets a reply before it
//     sends again on that connection. That is a round trip the process can wait for.
//     (A command sent without waiting for its reply, but whose reply happens to arrive
//     before the next send, also counts: an upper bound on the round trips waited for.)
//   - blocking waits: exchanges holding a blocking command (BLPOP, BRPOP, BLMOVE,
//     BRPOPLPUSH, BZPOPMIN/MAX, BLMPOP, BZMPOP, XREAD/XREADGROUP ... BLOCK, WAIT),
//     counted apart from the round trips;
//   - replies: top-level values Redis sent back (pub/sub messages included);
//   - bytes sent to Redis (out) and received from it (in).
import net from 'node:net';

const BLOCKING = new Set(['BLPOP', 'BRPOP', 'BLMOVE', 'BRPOPLPUSH', 'BZPOPMIN', 'BZPOPMAX', 'BLMPOP', 'BZMPOP', 'WAIT', 'WAITAOF']);

/**
 * Parses one RESP2 value at `pos`. Returns { value, next } or undefined when the
 * buffer does not hold all of it yet. Bulk strings come back as Buffers unless
 * they are short (then as strings); `wantValues=false` skips building values.
 */
function parse(buf, pos, wantValues) {
  if (pos >= buf.length) return undefined;
  const type = buf[pos];
  const lineEnd = buf.indexOf('\r\n', pos);
  if (lineEnd === -1) return undefined;
  const afterLine = lineEnd + 2;
  switch (type) {
    case 0x2b: // +
    case 0x2d: // -
    case 0x3a: // :
      return { value: wantValues ? buf.toString('latin1', pos + 1, lineEnd) : null, next: afterLine };
    case 0x24: { // $
      const len = Number(buf.toString('latin1', pos + 1, lineEnd));
      if (len < 0) return { value: null, next: afterLine };
      if (buf.length < afterLine + len + 2) return undefined;
      const value = wantValues && len <= 64 ? buf.toString('latin1', afterLine, afterLine + len) : null;
      return { value, next: afterLine + len + 2 };
    }
    case 0x2a: { // *
      const count = Number(buf.toString('latin1', pos + 1, lineEnd));
      if (count < 0) return { value: null, next: afterLine };
      const items = wantValues ? [] : null;
      let next = afterLine;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, next, wantValues);
        if (!item) return undefined;
        if (items) items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default: {
      // An inline command (a line of words), as redis-cli or telnet would send.
      return { value: wantValues ? buf.toString('latin1', pos, lineEnd).trim().split(/\s+/) : null, next: afterLine };
    }
  }
}

function isBlocking(args) {
  const name = String(args[0] ?? '').toUpperCase();
  if (BLOCKING.has(name)) return true;
  if (name === 'XREAD' || name === 'XREADGROUP') {
    return args.some((a) => typeof a === 'string' && a.toUpperCase() === 'BLOCK');
  }
  return false;
}

function emptyCounts() {
  return { connections: 0, commands: 0, byName: {}, exchanges: 0, blockingWaits: 0, replies: 0, bytesOut: 0, bytesIn: 0 };
}

/**
 * Starts a proxy on a free 127.0.0.1 port forwarding to `target` (host, port).
 * Returns { port, url, snapshot(), close() }; snapshot() copies the counters, and
 * diff(a, b) subtracts two snapshots.
 */
export async function startCountingProxy({ host = '127.0.0.1', port: targetPort, label = 'proxy' }) {
  const totals = emptyCounts();
  const sockets = new Set();

  const server = net.createServer((client) => {
    totals.connections++;
    const upstream = net.connect({ host, port: targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    let reqBuf = Buffer.alloc(0);
    let repBuf = Buffer.alloc(0);
    let answeredSinceSend = true; // the first send opens an exchange
    let exchangeBlocking = false;
    let broken = false;

    client.on('data', (chunk) => {
      upstream.write(chunk);
      totals.bytesOut += chunk.length;
      if (answeredSinceSend) {
        totals.exchanges++;
        answeredSinceSend = false;
        exchangeBlocking = false;
      }
      if (broken) return;
      reqBuf = reqBuf.length ? Buffer.concat([reqBuf, chunk]) : chunk;
      let pos = 0;
      for (;;) {
        const r = parse(reqBuf, pos, true);
        if (!r) break;
        pos = r.next;
        const args = Array.isArray(r.value) ? r.value : [];
        const name = String(args[0] ?? '?').toUpperCase();
        totals.commands++;
        totals.byName[name] = (totals.byName[name] ?? 0) + 1;
        if (!exchangeBlocking && isBlocking(args)) {
          // This exchange is a blocking wait, not a round trip.
          exchangeBlocking = true;
          totals.exchanges--;
          totals.blockingWaits++;
        }
      }
      reqBuf = reqBuf.subarray(pos);
    });
    upstream.on('data', (chunk) => {
      client.write(chunk);
      totals.bytesIn += chunk.length;
      answeredSinceSend = true;
      if (broken) return;
      repBuf = repBuf.length ? Buffer.concat([repBuf, chunk]) : chunk;
      let pos = 0;
      try {
        for (;;) {
          const r = parse(repBuf, pos, false);
          if (!r) break;
          pos = r.next;
          totals.replies++;
        }
      } catch {
        broken = true;
      }
      repBuf = repBuf.subarray(pos);
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    label,
    port,
    url: `redis://127.0.0.1:${port}`,
    snapshot: () => ({ ...totals, byName: { ...totals.byName } }),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** b - a, for two snapshots of one proxy. */
export function diff(a, b) {
  const byName = {};
  for (const [k, v] of Object.entries(b.byName)) {
    const d = v - (a.byName[k] ?? 0);
    if (d) byName[k] = d;
  }
  return {
    connections: b.connections - a.connections,
    commands: b.commands - a.commands,
    byName,
    exchanges: b.exchanges - a.exchanges,
    blockingWaits: b.blockingWaits - a.blockingWaits,
    replies: b.replies - a.replies,
    bytesOut: b.bytesOut - a.bytesOut,
    bytesIn: b.bytesIn - a.bytesIn,
  };
}

/** Adds up several diffs (e.g. the two servers'). */
export function sum(list) {
  const out = emptyCounts();
  for (const d of list) {
    out.connections += d.connections;
    out.commands += d.commands;
    out.exchanges += d.exchanges;
    out.blockingWaits += d.blockingWaits;
    out.replies += d.replies;
    out.bytesOut += d.bytesOut;
    out.bytesIn += d.bytesIn;
    for (const [k, v] of Object.entries(d.byName)) out.byName[k] = (out.byName[k] ?? 0) + v;
  }
  return out;
}
