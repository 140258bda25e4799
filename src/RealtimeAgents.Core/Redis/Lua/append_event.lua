-- Appends one event to a task's stream, atomically (see IEventLog for the guarantees).
-- KEYS[1] stream, KEYS[2] meta hash (one slot: both carry the task's hash tag)
-- ARGV[1] live channel (sharded, same slot), ARGV[2] task id, ARGV[3] thread id, ARGV[4] kind,
-- ARGV[5] data (JSON), ARGV[6] ts, ARGV[7] attempt (0 = not fenced), ARGV[8] max length,
-- ARGV[9] "1" if terminal, ARGV[10] TTL in ms after a terminal event, ARGV[11] the caller's token
-- for this append, ARGV[12] the highest seq the caller has seen this stream hand out (0 = none)
-- Returns {seq, id}, or {-1, fence} when the attempt is below the stream's fence.
-- Four commands on the usual path (read the meta, XADD, SPUBLISH, write the meta): the script
-- runs once per token, so its cost is the worker's and redis-server's cost per event.
local meta = redis.call('HMGET', KEYS[2], 'token', 'fence', 'seq', 'last')
-- The token makes a retry idempotent: a writer whose connection dropped before the reply
-- sends the same append again, and gets the first one's result instead of a second event.
if meta[1] == ARGV[11] then
  return {tonumber(meta[3]), meta[4]}
end
local attempt = tonumber(ARGV[7])
local fence = tonumber(meta[2] or '0')
if attempt > 0 and attempt < fence then
  return {-1, fence}
end

-- A counter below what the caller already saw handed out means this server lost writes: a
-- replica promoted before it had the newest appends, or a restart without them. Those seqs were
-- published and may have been delivered, so they are never handed out again: the counter skips
-- past them and the stream starts a new epoch, which tells every cursor from before the loss
-- that the log can no longer replay it (recovered: false) instead of showing it other events.
local current = tonumber(meta[3] or '0')
local seen = tonumber(ARGV[12])
local regressed = seen > current
if regressed then
  current = seen
  redis.call('HINCRBY', KEYS[2], 'regressions', 1)
end

local seq = current + 1
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[8], '*',
  'seq', seq, 'kind', ARGV[4], 'ts', ARGV[6], 'thread', ARGV[3], 'data', ARGV[5])

-- Ids and kinds are [A-Za-z0-9_.-] (validated before they get here) and data is JSON already,
-- so the event's JSON is put together without re-encoding the payload.
redis.call('SPUBLISH', ARGV[1], '{"taskId":"' .. ARGV[2] .. '","threadId":"' .. ARGV[3] ..
  '","seq":' .. seq .. ',"id":"' .. id .. '","kind":"' .. ARGV[4] .. '","ts":' .. ARGV[6] ..
  ',"data":' .. ARGV[5] .. '}')

local fields = {'seq', seq, 'token', ARGV[11], 'last', id}
if attempt > fence then
  fields[#fields + 1] = 'fence'
  fields[#fields + 1] = attempt
end
if seq == 1 or regressed then
  -- The epoch is the id of the stream's first entry (or of the first after a loss): a
  -- recreated stream gets a later one.
  fields[#fields + 1] = 'epoch'
  fields[#fields + 1] = id
end
if ARGV[9] == '1' then
  fields[#fields + 1] = 'terminal'
  fields[#fields + 1] = 1
end
redis.call('HSET', KEYS[2], unpack(fields))

if ARGV[9] == '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[10])
  redis.call('PEXPIRE', KEYS[2], ARGV[10])
end
return {seq, id}
