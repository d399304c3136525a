// CPU time of the processes a distributed benchmark runs, in µs (user + system):
// redis-server's from INFO cpu (all its threads), a child's by asking it over IPC
// (memocell-server.mjs and the floors' servers answer { type: 'cpu' } with their
// process.cpuUsage()).
//
//   const before = await redisCpuUs(admin);  ...  const used = (await redisCpuUs(admin)) - before;

/** CPU µs redis-server has used so far, from `INFO cpu` on an ioredis connection. */
export async function redisCpuUs(admin) {
  const info = await admin.info('cpu');
  const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/** CPU µs a forked child has used so far, as it reports it. */
export function childCpuUs(child) {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m.usage.user + m.usage.system));
    child.send({ type: 'cpu' });
  });
}
