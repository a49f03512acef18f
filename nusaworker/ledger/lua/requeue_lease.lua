-- Give back to `accepted` a record whose holder is dead: its hit never started, or it started
-- and the in-doubt policy says resend (OTP). One atomic step, and only if nothing changed since
-- beat read the record: still sending, held by that holder under the same token, hit_started as
-- read, and the holder's heartbeat still absent. The token is dropped, so a late begin_hit or
-- mark_sent of the old holder is fenced; the next claim hands out a new one.
--
-- KEYS[1]  record hash
-- KEYS[2]  accepted index (sorted set)
-- KEYS[3]  lease index (hash: id → holder)
-- KEYS[4]  the holder's heartbeat key
-- KEYS[5]  state counts (hash: state → records in it)
-- ARGV[1]  message id
-- ARGV[2]  holder
-- ARGV[3]  the token beat read
-- ARGV[4]  hit_started as beat read it: '1' or '0'
-- ARGV[5]  now (epoch seconds): accepted-index score and updated_at
-- ARGV[6]  the error field (why the record went back)
-- ARGV[7]  the campaign hash name prefix (a campaign's record is counted there)
--
-- Returns 'requeued'; 'alive' (the holder heartbeats again: nothing changed); 'moved' (the
-- record is no longer held by the holder: its index entry, if it still names the holder, is
-- dropped); or 'changed' (held, but not as read: nothing changed, beat reads it again).

if redis.call('EXISTS', KEYS[4]) == 1 then
    return 'alive'
end
local v = redis.call('HMGET', KEYS[1], 'state', 'holder', 'token', 'hit_started', 'campaign')
if v[1] ~= 'sending' or v[2] ~= ARGV[2] then
    if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2] then
        redis.call('HDEL', KEYS[3], ARGV[1])
    end
    return 'moved'
end
local started = '0'
if v[4] == '1' then
    started = '1'
end
if v[3] ~= ARGV[3] or started ~= ARGV[4] then
    return 'changed'
end
redis.call('HSET', KEYS[1], 'state', 'accepted', 'hit_started', '0', 'error', ARGV[6],
    'updated_at', ARGV[5])
redis.call('HDEL', KEYS[1], 'token', 'hit_started_at', 'holder')
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[5], 'sending', -1)
redis.call('HINCRBY', KEYS[5], 'accepted', 1)
if v[5] then
    redis.call('HINCRBY', ARGV[7] .. v[5], 'n:sending', -1)
    redis.call('HINCRBY', ARGV[7] .. v[5], 'n:accepted', 1)
end
return 'requeued'
