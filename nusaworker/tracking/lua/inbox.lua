-- Store one inbound message exactly once: remember its provider id, append it to the inbox
-- stream and announce it on the events stream, in one atomic step (a push the provider
-- repeats is recognised; a crash can never leave it marked as seen but not stored).
--
-- KEYS[1]  "seen" key of the provider id
-- KEYS[2]  inbox stream
-- KEYS[3]  events stream
-- ARGV[1]  seen-key TTL, seconds
-- ARGV[2]  inbox stream cap, ARGV[3] events stream cap (approximate)
-- ARGV[4]  the message as JSON, ARGV[5] when it was received (epoch seconds)
--
-- Returns the inbox entry id, or false when the message was stored before.

if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
    return false
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'data', ARGV[4], 'at', ARGV[5])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*',
    'type', 'inbound', 'data', ARGV[4], 'at', ARGV[5])
return id
