-- Claims an identity before fetching its page.
-- KEYS[1] claim bucket; ARGV: 1 claim field, 2 item key, 3 article id, 4 '1' to take over.
-- Returns {'original' or 'claimed', article id}.
local owner = claim(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if owner then return {'claimed', owner} end
return {'original', ARGV[3]}
