-- Add numbers to the suppression list, or remove them; runs after suppression.lua (the
-- function apply_suppression and the list's layout).
--
-- KEYS[1]  entries hash, KEYS[2] index, KEYS[3] events stream
-- ARGV[1]  'add' or 'remove'
-- ARGV[2]  who/why as JSON {source, note, at, channel}, ARGV[3] when (epoch seconds)
-- ARGV[4]  events stream cap (approximate)
-- ARGV[5…] the numbers (digits)
--
-- Returns one 1 or 0 per number: whether the list changed for it.
local changed = {}
for i = 5, #ARGV do
    changed[#changed + 1] = apply_suppression(
        KEYS[1], KEYS[2], KEYS[3], ARGV[4], ARGV[1], ARGV[i], ARGV[2], ARGV[3])
end
return changed
