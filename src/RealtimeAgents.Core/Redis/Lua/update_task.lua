-- Sets fields of an existing task; a task that ended expires with its stream and no longer counts
-- among its owner's active tasks.
-- KEYS[1] task hash, KEYS[2] the owner's active tasks (zset; "" unless the task ended)
-- ARGV[1] TTL ms to set when ARGV[2] == "1" (the task ended); ARGV[3] task id; ARGV[4..] field/value pairs
-- Returns the task's fields after the update, or false when the task does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
if #ARGV > 3 then
  local fields = {}
  for i = 4, #ARGV do
    fields[#fields + 1] = ARGV[i]
  end
  redis.call('HSET', KEYS[1], unpack(fields))
end
if ARGV[2] == '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  if KEYS[2] ~= '' then
    redis.call('ZREM', KEYS[2], ARGV[3])
  end
end
return redis.call('HGETALL', KEYS[1])
