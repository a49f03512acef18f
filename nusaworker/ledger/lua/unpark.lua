-- Drop the parked status updates of one ref_no that were applied, keeping any that arrived
-- since they were read; forget the ref_no in the index once nothing is left.
--
-- KEYS[1]  parked list of the ref_no
-- KEYS[2]  parked index (sorted set)
-- ARGV[1]  how many entries (from the head) were applied
-- ARGV[2]  the ref_no
--
-- Returns how many entries are left.

redis.call('LTRIM', KEYS[1], ARGV[1], -1)
local left = redis.call('LLEN', KEYS[1])
if left == 0 then
    redis.call('ZREM', KEYS[2], ARGV[2])
end
return left
