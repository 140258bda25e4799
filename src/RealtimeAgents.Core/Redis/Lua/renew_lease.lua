-- Resets a queue entry's idle time, but only while the caller still holds it: a plain XCLAIM
-- would take it back from the worker that reclaimed it.
-- KEYS[1] queue stream; ARGV[1] group, ARGV[2] entry id, ARGV[3] consumer
-- Returns 1 when renewed, 0 when the entry is no longer the caller's.
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then
  return 0
end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1
