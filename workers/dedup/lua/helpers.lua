-- Functions every dedup script starts with (workers.dedup.scripts prepends them).
-- A packed article id is 12 bytes; a signature is N bytes, one per permutation.
local function find_record(s, needle, width)
  local pos = 1
  while true do
    local i = string.find(s, needle, pos, true)
    if not i then return nil end
    if (i - 1) % width == 0 then return i end
    pos = i + 1
  end
end

local function sig_key(prefix, modulus, packed)
  local bucket = (string.byte(packed, 1) * 256 + string.byte(packed, 2)) % modulus
  return prefix .. string.format('%04x', bucket)
end

-- A new article has no band records yet: they are appended without reading the buckets.
-- One that is indexed already (processed again) gets only the records it lacks.
local function insert_near(band_keys, tags, packed, sig_bucket, sig_value, held)
  local indexed = redis.call('HEXISTS', sig_bucket, packed) == 1
  for j = 1, #band_keys do
    local record = tags[j] .. packed
    local s = held and held[j] or redis.call('GET', band_keys[j]) or ''
    if not (indexed and find_record(s, record, 16)) then
      redis.call('SET', band_keys[j], s .. record)
    end
  end
  redis.call('HSET', sig_bucket, packed, sig_value)
end

-- Claims an identity (hash KEY, FIELD) for ITEM as ARTICLE_ID unless another item owns it
-- (TAKEOVER '1' takes it anyway): returns nil, or the id the owner stands for.
local function claim(key, field, item, article_id, takeover)
  local owner = redis.call('HGET', key, field)
  if owner then
    local owner_item, target = string.match(owner, '^(%S+) (%S+)$')
    if owner_item ~= item and takeover ~= '1' then return target end
  end
  redis.call('HSET', key, field, item .. ' ' .. article_id)
  return nil
end
