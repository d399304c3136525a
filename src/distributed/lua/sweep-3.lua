-- sweep: recover requests whose deadline passed (and renew the TTL of the run records
-- when it looks at any). A request's entry in the pending set
-- keeps the deadline it was queued with when a server takes it (its lease is the LEASE
-- of its record, set by claim or complete and extended by renew): a running request
-- found here whose lease has not lapsed moves to its lease; one whose lease lapsed
-- lost its server (killed, or stalled past its lease): queue it again. A queued
-- request past its grace is either still waiting in a long queue or in the inbox of a
-- live idle server (extend it), or was popped by a server that died before claiming it
-- or sent to the inbox of one that died (queue it again). Nothing is lost.
-- Recovered requests go to the front of their queue, in the order of their deadlines:
-- they were taken once already, and their callers have waited longest; at the back of
-- a long queue they would wait for all of it again.
--
-- KEYS[1] pending    sorted set of queued/running requests by deadline
-- KEYS[2] gets       get queue
-- KEYS[3] prefetches prefetch queue
-- ARGV[1] base (PREFIX:{TAG}): BASE:runs (the run records; fields as get-1.lua lists
--         them), inboxes and BASE:alive are built from it
-- ARGV[2] now (ms)
-- ARGV[3] new deadline score for re-queued or extended requests (ms)
-- ARGV[4] the most requests to look at
-- ARGV[5] ttl of run records (ms)
-- Reply: {requests queued again, members left in pending, members looked at}: with none
-- left, a server may sweep less often until new work appears (nothing can lapse before a
-- lease has passed); with as many looked at as allowed, more may be due: sweep again at
-- once (a long queue's grace checks come due together and must not hold back a lapsed
-- lease behind them for several sweeps).
local RECORD = '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$'
local runs = ARGV[1] .. ':runs'
local requeued = 0
local recovered = {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
for _, key in ipairs(expired) do
  local record = redis.call('HGET', runs, key)
  local state, kind, inbox, server, token, lease, stale, recomputes, waiters, payload
  if record then
    state, kind, inbox, server, token, lease, stale, recomputes, waiters, payload = string.match(record, RECORD)
  end
  if not state or state == '' or payload == '' then
    redis.call('ZREM', KEYS[1], key)
  elseif state == 'running' and (tonumber(lease) or 0) > tonumber(ARGV[2]) then
    -- Taken and still leased: its entry kept the deadline it was queued with (taking a
    -- request does not touch the pending set) and now moves to the lease.
    redis.call('ZADD', KEYS[1], lease, key)
  else
    local queue = KEYS[3]
    if kind == 'get' then
      queue = KEYS[2]
    end
    local waiting = state == 'queued' and redis.call('LPOS', queue, payload)
    local idleServer = not waiting and state == 'queued' and inbox ~= '' and inbox
    if idleServer then
      -- Sent to an idle server's inbox: still waiting there if that server lives (a
      -- slow one is given the time); a dead server's inbox gives it up.
      local inboxKey = ARGV[1] .. ':in:' .. idleServer
      if redis.call('LPOS', inboxKey, payload) then
        local alive = redis.call('ZSCORE', ARGV[1] .. ':alive', idleServer)
        if alive and tonumber(alive) > tonumber(ARGV[2]) then
          waiting = true
        else
          redis.call('LREM', inboxKey, 1, payload)
        end
      end
    end
    if not waiting then
      -- Queued again, held by no one and in no inbox.
      redis.call('HSET', runs, key, 'queued\t' .. kind .. '\t\t\t\t\t' .. stale .. '\t' .. recomputes .. '\t'
        .. waiters .. '\t' .. payload)
      requeued = requeued + 1
      recovered[requeued] = { queue, payload }
    end
    redis.call('ZADD', KEYS[1], ARGV[3], key)
  end
end
if #expired > 0 then
  redis.call('PEXPIRE', runs, ARGV[5])
end
-- Pushed last first, so the earliest deadline ends up at the very front.
for i = requeued, 1, -1 do
  redis.call('LPUSH', recovered[i][1], recovered[i][2])
end
return { requeued, redis.call('ZCARD', KEYS[1]), #expired }
