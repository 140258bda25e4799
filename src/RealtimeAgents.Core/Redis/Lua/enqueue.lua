-- Adds a task to the queue and wakes idle workers, in the queue's slot.
-- KEYS[1] queue stream; ARGV[1] wake channel (sharded, same slot), ARGV[2] task id
local id = redis.call('XADD', KEYS[1], '*', 'task', ARGV[2])
redis.call('SPUBLISH', ARGV[1], id)
return id
