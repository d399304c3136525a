-- take: a server with several free slots takes up to COUNT more requests at once
-- (gets first), claiming each under a lease, so a burst of requests does not cost one
-- round trip each.
--
-- KEYS[1] gets       get queue
-- KEYS[2] prefetches prefetch queue
-- KEYS[3] pending    sorted set of queued/running requests by deadline
-- KEYS[4] stats      counters (computations: counted when one starts)
-- ARGV[1] base (PREFIX:{TAG})
-- ARGV[2] server id
-- ARGV[3] how many to take at most
-- ARGV[4] lease deadline score (ms)
-- ARGV[5] ttl of run records (ms)
-- ARGV[6] token prefix: request i (from 1) gets the token PREFIX.i
-- Reply: the payloads taken, in order, possibly none.
local taken = {}
for i = 1, tonumber(ARGV[3]) do
  local payload = redis.call('LPOP', KEYS[1]) or redis.call('LPOP', KEYS[2])
  if not payload then
    break
  end
  local key = string.match(payload, '^[^\n]*')
  local run = ARGV[1] .. ':r:' .. key
  if not redis.call('HGET', run, 'kind') then
    redis.call('HSET', run, 'kind', 'prefetch')
  end
  redis.call('HSET', run, 'state', 'running', 'payload', payload, 'owner', ARGV[2], 'token', ARGV[6] .. '.' .. i)
  redis.call('PEXPIRE', run, ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[4], key)
  redis.call('HINCRBY', KEYS[4], 'computations', 1)
  taken[i] = payload
end
return taken
