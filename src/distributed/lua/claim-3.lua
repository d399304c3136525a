-- claim: a server took a request off a queue and computes it under a lease. Sent
-- without waiting for the reply, so it costs no round trip; `complete` checks the token.
--
-- KEYS[1] run     the request's record
-- KEYS[2] pending sorted set of queued/running requests by deadline
-- KEYS[3] stats   counters (computations: counted when one starts)
-- ARGV[1] request key
-- ARGV[2] payload
-- ARGV[3] server id
-- ARGV[4] token naming this computation
-- ARGV[5] lease deadline (now + lease, ms): the record's `lease` field
-- ARGV[6] ttl of a run record made again (ms)
-- ARGV[7] optional, from a server that pops its own inbox (see get-1.lua): BASE
-- ARGV[8] with BASE: '1' if the server still has room after taking this request (it
--         goes to the front of BASE:idle), '0' if not (it leaves BASE:idle)
-- Reply: 1.
-- The request's pending entry keeps the deadline it was queued with: a sweep that
-- finds it due while the request runs moves it to the lease (see sweep-3.lua). A
-- record whose TTL ran out while it sat in a long queue is made again here (its state
-- is new too: all 4 fields added), with its payload, a TTL and a pending entry of its
-- own, and without a kind: a record with no kind counts as a prefetch (nobody waited
-- when it was made). Every other record has its payload already.
local added = redis.call('HSET', KEYS[1], 'state', 'running', 'owner', ARGV[3], 'token', ARGV[4], 'lease', ARGV[5])
if added > 3 then
  redis.call('HSET', KEYS[1], 'payload', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
end
redis.call('HINCRBY', KEYS[3], 'computations', 1)
if ARGV[7] then
  redis.call('LREM', ARGV[7] .. ':idle', 0, ARGV[3])
  if ARGV[8] == '1' then
    redis.call('LPUSH', ARGV[7] .. ':idle', ARGV[3])
  end
end
return 1
