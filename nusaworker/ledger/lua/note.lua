-- Write what the provider said about a record without moving it (an unknown status code, a
-- step that is no state of ours), but only while the record is still where the caller saw it:
-- a late poll answer must not overwrite what a callback recorded meanwhile.
--
-- KEYS[1]  record hash
-- ARGV[1]  the state the record must be in
-- ARGV[2]  provider_status
-- ARGV[3]  updated_at
--
-- Returns 1 when written, 0 when the record is elsewhere (or gone).

if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] then
    return 0
end
redis.call('HSET', KEYS[1], 'provider_status', ARGV[2], 'updated_at', ARGV[3])
return 1
