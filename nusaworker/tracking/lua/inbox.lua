-- Store one inbound message exactly once: remember its provider id, append it to the inbox
-- stream and announce it on the events stream, in one atomic step (a push the provider
-- repeats is recognised; a crash can never leave it marked as seen but not stored). When its
-- text is an opt-out or opt-in keyword, its sender is added to or removed from the suppression
-- list in the same step: once per message, however often it is pushed.
--
-- Runs after nusaworker/lua/suppression.lua (the function apply_suppression).
--
-- KEYS[1]  "seen" key of the provider id
-- KEYS[2]  inbox stream
-- KEYS[3]  events stream
-- KEYS[4]  suppression entries hash, KEYS[5] suppression index
-- ARGV[1]  seen-key TTL, seconds
-- ARGV[2]  inbox stream cap, ARGV[3] events stream cap (approximate)
-- ARGV[4]  the message as JSON, ARGV[5] when it was received (epoch seconds)
-- ARGV[6]  '' (no keyword), 'add' (opt-out) or 'remove' (opt-in)
-- ARGV[7]  the sender (digits), ARGV[8] who/why as JSON {source, note, at, channel}
--
-- Returns {inbox entry id, 1 if the suppression list changed else 0}, or false when the
-- message was stored before.

if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
    return false
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'data', ARGV[4], 'at', ARGV[5])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*',
    'type', 'inbound', 'data', ARGV[4], 'at', ARGV[5])
local changed = 0
if ARGV[6] ~= '' then
    changed = apply_suppression(KEYS[4], KEYS[5], KEYS[3], ARGV[3], ARGV[6], ARGV[7], ARGV[8], ARGV[5])
end
return {id, changed}
