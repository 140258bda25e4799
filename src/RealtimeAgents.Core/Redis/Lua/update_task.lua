-- Sets fields of an existing task; a task that ended expires with its stream.
-- KEYS[1] task hash
-- ARGV[1] TTL ms to set when ARGV[2] == "1" (the task ended); ARGV[3..] field/value pairs
-- Returns the task's fields after the update, or false when the task does not exist. (Leaving
-- the owner's active set is the caller's next step: that set lives in the owner's slot.)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
if #ARGV > 2 then
  local fields = {}
  for i = 3, #ARGV do
    fields[#fields + 1] = ARGV[i]
  end
  redis.call('HSET', KEYS[1], unpack(fields))
end
if ARGV[2] == '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return redis.call('HGETALL', KEYS[1])
