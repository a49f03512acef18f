-- Record the latest run of a recurring campaign (nusaworker.campaigns.recurring).
--
-- KEYS[1]  hash: name -> last run (JSON)        KEYS[2]  hash: name -> definition
-- ARGV[1]  name    ARGV[2]  fire time (epoch s)    ARGV[3]  the run (JSON)
--
-- Runs of one definition may overlap (a start that outlasts a period): an older fire time never
-- overwrites a newer one, so the status shows the latest run whatever order they finish in.
-- A definition removed meanwhile gets no entry back. Returns 1 when written, else 0.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  return 0
end
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, run = pcall(cjson.decode, old)
  if ok and type(run) == 'table' and tonumber(run['fire_at'])
      and tonumber(run['fire_at']) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
