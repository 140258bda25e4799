-- Creates a task and appends it to its thread, unless the owner already created one with the
-- same idempotency key (then that task's id is returned and nothing changes).
-- KEYS[1] task hash, KEYS[2] thread hash, KEYS[3] thread task list, KEYS[4] idempotency key ("" if none)
-- ARGV[1] task id, ARGV[2] owner, ARGV[3] agent, ARGV[4] thread TTL ms, ARGV[5] idempotency TTL ms,
-- ARGV[6..] task hash field/value pairs
-- Returns {1, task id} when created, {0, existing task id} when the key was used before.
if KEYS[4] ~= '' then
  local existing = redis.call('GET', KEYS[4])
  if existing then
    return {0, existing}
  end
  redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[5])
end
local fields = {}
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'owner', ARGV[2])
end
redis.call('HSET', KEYS[2], 'agent', ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return {1, ARGV[1]}
