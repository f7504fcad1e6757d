-- Rebuild from the store: fills in what is missing, never overwrites a live entry.
-- KEYS: 1 layout, 2 text bucket ('' to skip), 3 own signature bucket, 4.. band buckets.
-- ARGV: 1 text field, 2 article id, 3 packed id, 4 signature value ('' to skip),
--       5 layout stamp, 6.. band tags.
if KEYS[2] ~= '' then redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) end
if ARGV[4] == '' then return 0 end
local layout = redis.call('GET', KEYS[1])
if not layout then
  redis.call('SET', KEYS[1], ARGV[5])
elseif layout ~= ARGV[5] then
  return redis.error_reply('dedup index layout is ' .. layout)
end
local band_keys, tags = {}, {}
for j = 4, #KEYS do
  band_keys[#band_keys + 1] = KEYS[j]
  tags[#tags + 1] = ARGV[j + 2]
end
insert_near(band_keys, tags, ARGV[3], KEYS[3], ARGV[4])
return 1
