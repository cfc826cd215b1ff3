package postgres

import "hash/fnv"

// lockKey names a pg_advisory_xact_lock: a 64-bit hash of the schema, what
// is locked and the key. Two different keys may collide; they then only
// wait for each other.
func (s *Store) lockKey(kind, key string) int64 {
	h := fnv.New64a()
	h.Write([]byte("usermgmt\x00" + s.schema + "\x00" + kind + "\x00" + key))
	return int64(h.Sum64())
}

// migrateLockKey serialises Migrate across every schema of the database:
// CREATE EXTENSION and CREATE SCHEMA race with themselves even with IF NOT
// EXISTS.
const migrateLockKey int64 = 0x75736572_6d676d74 // "usermgmt"
