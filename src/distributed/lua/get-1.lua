-- get: for each request, answer from the cache, or register the client as a waiter
-- and queue the request unless it is already queued or running (concurrent identical
-- gets are computed once). A queued prefetch of the same request is promoted to a
-- get. The gets a client makes while its previous call is in flight travel together.
-- Only one key is declared, for routing: all keys of a service share its hash tag,
-- and the others are built here from the base.
--
-- KEYS[1] the cached-result key of the first request (BASE:v:KEY)
-- ARGV[1] base    PREFIX:{TAG}
-- ARGV[2] client id
-- ARGV[3] deadline score for the pending set (now + queue grace, ms)
-- ARGV[4] ttl of the run records (ms): of BASE:runs, which holds them all
-- ARGV[5..] two fields per request: request key, payload (request key, newline,
--           canonical arguments if the key is hashed)
-- Keys used: BASE:v:KEY, BASE:runs (the run records: field KEY, value STATE TAB KIND
-- TAB INBOX TAB OWNER TAB TOKEN TAB LEASE TAB STALE TAB RECOMPUTES TAB WAITERS TAB
-- PAYLOAD, WAITERS the ids of the waiting clients, comma-separated), BASE:q (gets),
-- BASE:p (prefetches), BASE:pending, BASE:stats (misses; hits are counted by clients),
-- BASE:idle (servers waiting on their inbox, most recently idle first), BASE:in:SERVERID.
-- A new request goes to the inbox of the most recently idle server, if any, else to the
-- shared get queue: a lone request then wakes the server that served the last one,
-- still warm, not whichever idle server has slept longest (Redis's order for blocked
-- pops). An idle server that died leaves its inbox to the heartbeat and sweep scripts.
-- Reply: per request, the cached envelope on a hit, or 0 when the client now waits.
--
-- What can be one command for the whole call is: one MGET of the cached results, one
-- HSET of the records, one RPUSH of the new requests to the get queue, one ZADD of
-- their deadlines. Each Redis
-- command run from a script has a fixed cost well above what one more argument costs.
local base = ARGV[1]
local client = ARGV[2]
local deadline = ARGV[3]
local reply = {}
local misses = 0

-- Calls a variadic command (COMMAND KEY, then the list, or COMMAND and the list when
-- KEY is false) in chunks that stay below what Lua's unpack can spread on its stack.
-- Each chunk is unpacked from the list itself (a range of it): no copy of the list, and
-- no table for the head, per command. Nothing is sent for an empty list. Returns the
-- reply of a lone chunk as it is, the replies of several chunks collected, or nil.
local function variadic(command, key, list, stride)
  local size = #list
  if size == 0 then
    return nil
  end
  local chunk = 4000 - 4000 % stride
  if size <= chunk then
    if key then
      return redis.call(command, key, unpack(list, 1, size))
    end
    return redis.call(command, unpack(list, 1, size))
  end
  local replies = {}
  local count = 0
  for first = 1, size, chunk do
    local last = math.min(first + chunk - 1, size)
    local r
    if key then
      r = redis.call(command, key, unpack(list, first, last))
    else
      r = redis.call(command, unpack(list, first, last))
    end
    if type(r) == 'table' then
      for k = 1, #r do
        count = count + 1
        replies[count] = r[k]
      end
    end
  end
  return replies
end

-- Lists are filled through counters, not t[#t + 1]: the length operator searches the
-- table each time (measured with the copies variadic made: 6% of Redis's instructions
-- per miss, bench/distributed/redis-instructions.mjs).
local valueKeys = {}
local requests = 0
for i = 5, #ARGV, 2 do
  requests = requests + 1
  valueKeys[requests] = base .. ':v:' .. ARGV[i]
end
local cached = variadic('MGET', false, valueKeys, 1)

-- A run record is one string in one hash of the service, not a hash of its own: a key
-- made and deleted per request, with its TTL and fields, cost Redis about twice the
-- CPU (measured: bench/distributed, BENCHMARKS.md 2026-12-04, "one hash of records").
-- An empty field is an absent one.
local RECORD = '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$'
local runs = base .. ':runs'
-- Once the idle list is found empty it stays empty for the rest of this script: no
-- LPOP per request under load, when no server is idle.
local idleLeft = true
local queued = {}
local nQueued = 0
local deadlines = {}
local nDeadlines = 0
local writes = {}
local nWrites = 0
-- Records written by this call (they go out in one HSET at the end): a key given twice
-- is queued once.
local made = {}
for r = 1, requests do
  local key, payload = ARGV[3 + 2 * r], ARGV[4 + 2 * r]
  local hit = cached[r]
  if hit then
    reply[r] = hit
  else
    misses = misses + 1
    reply[r] = 0
    -- The client waits: its id is in the record's WAITERS, which lives as long as it.
    local record = made[key] or redis.call('HGET', runs, key)
    local state, kind, inbox, owner, token, lease, stale, recomputes, waiters, stored
    if record then
      state, kind, inbox, owner, token, lease, stale, recomputes, waiters, stored = string.match(record, RECORD)
    end
    if not state then
      local server = idleLeft and redis.call('LPOP', base .. ':idle')
      idleLeft = server and true or false
      if server then
        record = 'queued\tget\t' .. server .. '\t\t\t\t\t\t' .. client .. '\t' .. payload
        redis.call('RPUSH', base .. ':in:' .. server, payload)
      else
        record = 'queued\tget\t\t\t\t\t\t\t' .. client .. '\t' .. payload
        nQueued = nQueued + 1
        queued[nQueued] = payload
      end
      deadlines[nDeadlines + 1] = deadline
      deadlines[nDeadlines + 2] = key
      nDeadlines = nDeadlines + 2
    else
      if waiters == '' then
        waiters = client
      elseif not string.find(',' .. waiters .. ',', ',' .. client .. ',', 1, true) then
        waiters = waiters .. ',' .. client
      end
      if kind ~= 'get' then
        -- A prefetch (or a record with no kind, which counts as one) becomes a get.
        kind = 'get'
        if state == 'queued' and redis.call('LREM', base .. ':p', 1, stored) > 0 then
          nQueued = nQueued + 1
          queued[nQueued] = stored
        end
      end
      record = state .. '\t' .. kind .. '\t' .. inbox .. '\t' .. owner .. '\t' .. token .. '\t' .. lease .. '\t'
        .. stale .. '\t' .. recomputes .. '\t' .. waiters .. '\t' .. stored
    end
    made[key] = record
    writes[nWrites + 1] = key
    writes[nWrites + 2] = record
    nWrites = nWrites + 2
  end
end
-- Both below turn a structure that grows past 32 entries into its big encoding. The
-- pending set holds an entry for each record, so one look at it tells whether either
-- may be that big: absent (nothing queued or running, as between lone gets), neither
-- is; a skiplist, the records were made a hash table with it. Only a listpack, or a
-- call that brings 32 requests itself, needs a look at the records too: one command
-- instead of two for a lone get, each a few thousand instructions in a script
-- (bench/distributed/redis-instructions.mjs --one-at-a-time).
local pending = base .. ':pending'
local pendingEncoding = nWrites > 0 and redis.call('OBJECT', 'ENCODING', pending)
if nWrites > 0 then
  -- A hash of up to 128 short fields is a listpack too, where each HGET and HSET scans
  -- the fields (13% of Redis's instructions per miss with 128 outstanding, measured:
  -- bench/distributed/redis-instructions.mjs). As with the pending set below, once it
  -- would hold 32 or more records, one value longer than 64 bytes (the default
  -- hash-max-listpack-value) goes in with them and out at once: a real hash table
  -- from then on, until it is emptied.
  local long = false
  if pendingEncoding == 'listpack' or nWrites / 2 >= 32 then
    local encoding = redis.call('OBJECT', 'ENCODING', runs)
    if encoding ~= 'hashtable' and (encoding and redis.call('HLEN', runs) or 0) + nWrites / 2 >= 32 then
      long = '~'
      writes[nWrites + 1] = long
      writes[nWrites + 2] = '~ longer than hash-max-listpack-value: makes the hash a table, removed at once ~'
    end
  end
  variadic('HSET', runs, writes, 2)
  if long then
    redis.call('HDEL', runs, long)
  end
  redis.call('PEXPIRE', runs, ARGV[4])
end
variadic('RPUSH', base .. ':q', queued, 1)
if nDeadlines > 0 then
  -- A sorted set of up to 128 members is kept as a listpack, where each ZADD scans
  -- every member: 1.5 us per member added with 90 members, against 0.2 us in the
  -- skiplist encoding (measured, Redis 7.0). A member longer than 64 bytes (the default
  -- zset-max-listpack-value) turns the set into a skiplist until it is emptied, so once
  -- the set holds 32 or more, one is added with these deadlines and removed at once in
  -- this script: no one ever sees it. Small sets stay compact.
  -- (A set made by this very ZADD is a listpack too, whatever its size.)
  if pendingEncoding ~= 'skiplist' and (pendingEncoding and redis.call('ZCARD', pending) or 0) + nDeadlines / 2 >= 32 then
    local long = '~ longer than zset-max-listpack-value: makes the set a skiplist, removed at once ~'
    deadlines[nDeadlines + 1] = '0'
    deadlines[nDeadlines + 2] = long
    variadic('ZADD', pending, deadlines, 2)
    redis.call('ZREM', pending, long)
  else
    variadic('ZADD', pending, deadlines, 2)
  end
end
if misses > 0 then
  redis.call('HINCRBY', base .. ':stats', 'misses', misses == 1 and '1' or misses)
end
return reply
