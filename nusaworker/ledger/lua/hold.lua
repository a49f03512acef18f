-- Hold an accepted record while its channel is paused: it stays accepted, becomes eligible
-- again only at retry_at, and its id joins the set the resume drains. Atomic, and only while
-- the guard key (the channel's open breaker) exists: once the breaker is closed nothing is
-- held any more, so a resume that drained the set can never miss a record held after it.
--
-- KEYS[1]  record hash
-- KEYS[2]  accepted index (sorted set)
-- KEYS[3]  the set of held ids
-- KEYS[4]  guard key: hold only while it exists
-- ARGV[1]  message id
-- ARGV[2]  retry_at (epoch seconds): the record's new accepted-index score
-- ARGV[3]  the reason, written to the record's error field
-- ARGV[4]  now (epoch seconds)
--
-- Returns {verdict, state}: verdict 'held', 'not_accepted' (nothing changed), 'unguarded'
-- (the guard key is gone; nothing changed) or 'missing'.

local state = redis.call('HGET', KEYS[1], 'state')
if not state then
    return {'missing', ''}
end
if state ~= 'accepted' then
    return {'not_accepted', state}
end
if redis.call('EXISTS', KEYS[4]) == 0 then
    return {'unguarded', state}
end
redis.call('HSET', KEYS[1], 'error', ARGV[3], 'updated_at', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return {'held', state}
