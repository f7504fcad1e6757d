-- A fetch task starts on ARGV[2] (item) with lease token ARGV[3]: renew the lease for
-- ARGV[4] ms. Returns 1, or 0 for a stale delivery (its lease was reclaimed or finished).
if redis.call('HGET', LEASE, ARGV[2]) ~= ARGV[3] then return 0 end
redis.call('ZADD', LEASES, now_ms() + tonumber(ARGV[4]), ARGV[2])
return 1
