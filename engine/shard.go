package engine

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxShards is the most shards one evaluation may be split into. Each shard holds one database connection
// while it runs, so the count is bounded well below a small project's connection limit.
const MaxShards = 64

// Shard names one key range of mentor ids: shard No of Of, 1 <= No <= Of <= MaxShards. The database cuts the
// uuid space into Of equal ranges (scheduler.shard_bounds); shard No walks the No-th in key order. Each shard
// has its own checkpoint, lease and budget, and the Of shards of one count together evaluate every active
// mentor once. The zero Shard is the whole range, as is 1 of 1.
type Shard struct {
	No, Of int
}

// ParseShard reads "k/N" as the HTTP contract carries it: decimal numbers without sign, spaces or leading
// zeros, 1 <= k <= N <= MaxShards. Errors are *Error with Code Invalid.
func ParseShard(s string) (Shard, error) {
	bad := Errorf(Invalid, "shard must be \"k/N\" with 1 <= k <= N <= %d, got %q", MaxShards, excerpt(s))
	k, n, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, bad
	}
	no, ok1 := shardNumber(k)
	of, ok2 := shardNumber(n)
	if !ok1 || !ok2 || no > of || of > MaxShards {
		return Shard{}, bad
	}
	return Shard{No: no, Of: of}, nil
}

// shardNumber: 1 to 2 decimal digits, the first not 0.
func shardNumber(s string) (int, bool) {
	if len(s) == 0 || len(s) > 2 || s[0] < '1' || s[0] > '9' || (len(s) == 2 && (s[1] < '0' || s[1] > '9')) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// excerpt is at most 32 bytes of a caller's input, for an error message, cut between UTF-8 sequences.
func excerpt(s string) string {
	if len(s) <= 32 {
		return s
	}
	n := 32
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Whole reports whether s is the whole range (the zero Shard or 1 of 1).
func (s Shard) Whole() bool { return s.Of <= 1 && s.No <= 1 }

// valid reports whether s is the zero Shard or k of N in range.
func (s Shard) valid() bool {
	return s == Shard{} || (s.Of >= 1 && s.Of <= MaxShards && s.No >= 1 && s.No <= s.Of)
}

// Normal is s with the whole range written 1 of 1: what the store is given.
func (s Shard) Normal() Shard {
	if s == (Shard{}) {
		return Shard{No: 1, Of: 1}
	}
	return s
}

// String is "k/N", or "" for the whole range.
func (s Shard) String() string {
	if s.Whole() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.No, s.Of)
}
