-- The claim holder's hit was answered "not processed" (a 429, a 5xx, a refused connection),
-- and the client waits before its next attempt: the record is no longer in doubt meanwhile.
--
-- KEYS[1]  record hash
-- ARGV[1]  the caller's fencing token
-- ARGV[2]  now (epoch seconds)
--
-- Returns 'ok', or 'fenced' (not sending, or another token holds it: nothing changes). The
-- next attempt's begin_hit marks the hit started again.

local v = redis.call('HMGET', KEYS[1], 'state', 'token')
if v[1] ~= 'sending' or v[2] ~= ARGV[1] then
    return 'fenced'
end
redis.call('HSET', KEYS[1], 'hit_started', '0', 'updated_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'hit_started_at')
return 'ok'
