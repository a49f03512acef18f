-- Record that the claim holder is about to make its provider hit.
--
-- KEYS[1]  record hash
-- ARGV[1]  the caller's fencing token
-- ARGV[2]  now (epoch seconds)
-- ARGV[3]  the provider account that makes the hit ('' = not told)
--
-- Returns 'ok' (the caller may fire), 'fenced' (not sending, or another token holds it),
-- 'pinned' (a hit of another account may have reached its provider: a message is sent by one
-- account only, so only that account may send it again),
-- 'expired' (past the record's validity: a hit now would arrive late; nothing changes), or
-- 'missing'. Idempotent for the holder: each retry attempt of the same claim calls it again;
-- hit_started_at keeps the time of the first one.

local v = redis.call('HMGET', KEYS[1], 'state', 'token', 'hit_started', 'expires_at', 'account',
    'account_pinned')
if not v[1] then
    return 'missing'
end
if v[1] ~= 'sending' or v[2] ~= ARGV[1] then
    return 'fenced'
end
local expires_at = tonumber(v[4])
if expires_at and tonumber(ARGV[2]) >= expires_at then
    return 'expired'
end
if ARGV[3] ~= '' then
    if (v[3] == '1' or v[6] == '1') and v[5] and v[5] ~= ARGV[3] then
        return 'pinned'
    end
    if v[5] ~= ARGV[3] then
        redis.call('HSET', KEYS[1], 'account', ARGV[3])
    end
end
if v[3] ~= '1' then
    redis.call('HSET', KEYS[1], 'hit_started', '1', 'hit_started_at', ARGV[2], 'updated_at', ARGV[2])
end
return 'ok'
