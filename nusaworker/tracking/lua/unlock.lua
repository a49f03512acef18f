-- Release a per-run job lock, but only the holder's (its token): a run that overran its lock
-- must not release the lock of the run that took over.
--
-- KEYS[1]  lock key
-- ARGV[1]  the holder's token
--
-- Returns 1 when released, 0 when the lock was not (or no longer) the caller's.

if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
