package identity

// SetHashKey replaces the argon2id call of h, so tests can count the
// hashes running at once on the real call path.
func SetHashKey(h *Hasher, f func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte) {
	h.key = f
}

// Waiting is how many callers wait for a slot of h.
func Waiting(h *Hasher) int64 { return h.waiting.Load() }
