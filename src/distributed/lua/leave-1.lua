-- leave: a client stops waiting for a request (its call timed out or was aborted), so
-- servers stop answering it. Sent without waiting for the reply. A reply already pushed
-- stays in the client's reply list, which the client ignores and which lapses.
--
-- KEYS[1] runs the service's run records (BASE:runs; fields as get-1.lua lists them)
-- ARGV[1] request key
-- ARGV[2] client id
-- Reply: 1 if the client was a waiter of the request, 0 if not (or no record).
local RECORD = '^(' .. string.rep('[^\t]*\t', 8) .. ')([^\t]*)(\t.*)$'
local record = redis.call('HGET', KEYS[1], ARGV[1])
local head, waiters, tail
if record then
  head, waiters, tail = string.match(record, RECORD)
end
if not head then
  return 0
end
local kept = {}
local nKept = 0
local found = false
for id in string.gmatch(waiters, '[^,]+') do
  if id == ARGV[2] then
    found = true
  else
    nKept = nKept + 1
    kept[nKept] = id
  end
end
if not found then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], head .. table.concat(kept, ',') .. tail)
return 1
