-- Idempotent enqueue of one message record, in one atomic step.
--
-- KEYS[1]  record hash
-- KEYS[2]  accepted index (sorted set)
-- KEYS[3]  expiry index (sorted set): the record joins it when it has a validity
-- KEYS[4]  state counts (hash: state → records in it)
-- KEYS[5]  idempotency key (optional)
-- ARGV[1]  message id
-- ARGV[2]  accepted-index score (the creation time)
-- ARGV[3]  idempotency key TTL, seconds
-- ARGV[4]  expires_at (epoch seconds), or '' for a record without a validity
-- ARGV[5]  the record's campaign hash name, or '': a campaign counts its accepted records
-- ARGV[6…] field, value, field, value … of the record hash
--
-- Returns {id, 1} when the record was written, {existing id, 0} when the idempotency key
-- (or the id itself) was already known; then nothing is written.

local id = ARGV[1]
if KEYS[5] then
    local existing = redis.call('GET', KEYS[5])
    if existing then
        return {existing, 0}
    end
end
-- An id that exists already is the same enqueue made twice: the id is its own idempotency key.
if redis.call('EXISTS', KEYS[1]) == 1 then
    return {id, 0}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
if ARGV[5] ~= '' then
    redis.call('HINCRBY', ARGV[5], 'n:accepted', 1)
end
redis.call('HINCRBY', KEYS[4], 'accepted', 1)
redis.call('ZADD', KEYS[2], ARGV[2], id)
if ARGV[4] ~= '' then
    redis.call('ZADD', KEYS[3], ARGV[4], id)
end
if KEYS[5] then
    redis.call('SET', KEYS[5], id, 'EX', ARGV[3])
end
return {id, 1}
