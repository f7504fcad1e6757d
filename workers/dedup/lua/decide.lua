-- The whole dedup decision, atomically: claim -> exact text -> near-duplicate lookup -> insert.
-- KEYS: 1 layout, 2 claim bucket, 3 text bucket ('' to skip), 4 own signature bucket,
--       5.. band buckets.
-- ARGV: 1 claim field, 2 item key, 3 article id, 4 '1' to take over an existing claim,
--       5 text field, 6 packed id, 7 signature ('' to skip the near check), 8 id suffix kept
--       after the signature, 9 least equal signature bytes, 10 layout stamp,
--       11 signature key prefix, 12 signature bucket count, 13 most candidates, 14.. band tags.
-- Returns {verdict, article id, equal signature bytes or ''}.
local near = ARGV[7] ~= ''
if near then
  local layout = redis.call('GET', KEYS[1])
  if not layout then
    redis.call('SET', KEYS[1], ARGV[10])
  elseif layout ~= ARGV[10] then
    return {'layout', layout, ''}
  end
end

local owner = claim(KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if owner then return {'claimed', owner, ''} end

local first = false
if KEYS[3] ~= '' then
  first = redis.call('HGET', KEYS[3], ARGV[5])
  if first and first ~= ARGV[3] then
    -- Remember the original in the claim, so later re-submissions point straight at it.
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. first)
    return {'duplicate', first, ''}
  end
end

local band_keys, tags, held = {}, {}, {}
if near then
  local sig = ARGV[7]
  local n = #sig
  local mine = {string.byte(sig, 1, n)}
  local modulus = tonumber(ARGV[12])
  local limit = tonumber(ARGV[13])
  local seen, checked = {}, 0
  local best, best_packed, best_matches = nil, nil, tonumber(ARGV[9]) - 1
  for j = 5, #KEYS do
    local tag = ARGV[j + 9]
    band_keys[#band_keys + 1] = KEYS[j]
    tags[#tags + 1] = tag
    local s = redis.call('GET', KEYS[j])
    held[#held + 1] = s or ''
    if s then
      local pos = 1
      while checked < limit do
        local i = string.find(s, tag, pos, true)
        if not i then break end
        if (i - 1) % 16 == 0 then
          local candidate = string.sub(s, i + 4, i + 15)
          pos = i + 16
          if candidate ~= ARGV[6] and not seen[candidate] then
            seen[candidate] = true
            checked = checked + 1
            local other = redis.call('HGET', sig_key(ARGV[11], modulus, candidate), candidate)
            if other then
              local theirs = {string.byte(other, 1, n)}
              local matches = 0
              for p = 1, n do
                if mine[p] == theirs[p] then matches = matches + 1 end
              end
              if matches > best_matches then
                best, best_packed, best_matches = other, candidate, matches
              end
            end
          end
        else
          pos = i + 1
        end
      end
    end
  end
  if best then
    local id = string.sub(best, n + 1)
    if id == '' then
      id = string.gsub(best_packed, '.', function(c)
        return string.format('%02x', string.byte(c))
      end)
    end
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. id)
    return {'duplicate', id, tostring(best_matches)}
  end
end

if KEYS[3] ~= '' and not first then redis.call('HSET', KEYS[3], ARGV[5], ARGV[3]) end
if near then insert_near(band_keys, tags, ARGV[6], KEYS[4], ARGV[7] .. ARGV[8], held) end
return {'original', ARGV[3], ''}
