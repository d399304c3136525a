-- claim: a server took a request off a queue and computes it under a lease. Sent
-- without waiting for the reply, so it costs no round trip; `complete` checks the token.
--
-- KEYS[1] runs    the service's run records (BASE:runs; fields as get-1.lua lists them)
-- KEYS[2] pending sorted set of queued/running requests by deadline
-- KEYS[3] stats   counters (computations: counted when one starts)
-- ARGV[1] request key
-- ARGV[2] payload
-- ARGV[3] server id
-- ARGV[4] token naming this computation
-- ARGV[5] lease deadline (now + lease, ms): the record's LEASE
-- ARGV[6] ttl of the run records (ms)
-- ARGV[7] optional, from a server that pops its own inbox (see get-1.lua): BASE
-- ARGV[8] with BASE: '1' if the server still has room after taking this request (it
--         goes to the front of BASE:idle), '0' if not (it leaves BASE:idle)
-- Reply: 1.
-- The request's pending entry keeps the deadline it was queued with: a sweep that
-- finds it due while the request runs moves it to the lease (see sweep-3.lua). A
-- record that lapsed while the request sat in a long queue (BASE:runs expired) is made
-- again here, with its payload and a pending entry of its own, and without a kind: a
-- record with no kind counts as a prefetch (nobody waited when it was made).
-- Claiming rewrites STATE, OWNER, TOKEN and LEASE, and keeps KIND, INBOX and the rest.
local KEPT = '^[^\t]*\t([^\t]*\t[^\t]*\t)[^\t]*\t[^\t]*\t[^\t]*\t(.*)$'
local record = redis.call('HGET', KEYS[1], ARGV[1])
local head, tail
if record then
  head, tail = string.match(record, KEPT)
end
if head then
  record = 'running\t' .. head .. ARGV[3] .. '\t' .. ARGV[4] .. '\t' .. ARGV[5] .. '\t' .. tail
else
  record = 'running\t\t\t' .. ARGV[3] .. '\t' .. ARGV[4] .. '\t' .. ARGV[5] .. '\t\t\t\t' .. ARGV[2]
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], record)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('HINCRBY', KEYS[3], 'computations', 1)
if ARGV[7] then
  redis.call('LREM', ARGV[7] .. ':idle', 0, ARGV[3])
  if ARGV[8] == '1' then
    redis.call('LPUSH', ARGV[7] .. ':idle', ARGV[3])
  end
end
return 1
