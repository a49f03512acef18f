-- Forget a dead holder once beat resolved what it held: its received-task index and its entry
-- in the holders set. Not if its heartbeat is back (it was slow, not dead): it stays known.
--
-- KEYS[1]  the holder's heartbeat key
-- KEYS[2]  the holder's received-task index (hash)
-- KEYS[3]  holders set
-- ARGV[1]  holder
--
-- Returns 1 when forgotten, 0 when the holder heartbeats.

if redis.call('EXISTS', KEYS[1]) == 1 then
    return 0
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
