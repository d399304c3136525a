-- distcl get (client): DisTcl's `get` up to the wait, in one call: the cached result,
-- or the request queued for a server (DisTcl clients always queue; its servers
-- deduplicate).
--
-- KEYS[1] v:SERVICE:ARGS  cached result ("STATUS:VALUE")
-- KEYS[2] q:SERVICE       get queue
-- ARGV[1] ARGS            the words as a Tcl list
-- Reply: {1, cached result} on a hit; {0} once queued.
local cached = redis.call('GET', KEYS[1])
if cached then
  return {1, cached}
end
redis.call('RPUSH', KEYS[2], ARGV[1])
return {0}
