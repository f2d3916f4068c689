package engine

import "testing"

func TestParseShard(t *testing.T) {
	good := map[string]Shard{"1/1": {1, 1}, "2/4": {2, 4}, "64/64": {64, 64}, "1/64": {1, 64}, "9/10": {9, 10}}
	for in, want := range good {
		got, err := ParseShard(in)
		if err != nil || got != want {
			t.Errorf("ParseShard(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "/", "0/4", "5/4", "1/65", "01/4", "1/04", "+1/4", " 1/4", "1/4 ", "1/ 4",
		"1//4", "1/4/4", "a/4", "1/0", "100/100", "-1/4", "1.0/4", "２/4"} {
		if s, err := ParseShard(in); err == nil || ErrorCode(err) != Invalid {
			t.Errorf("ParseShard(%q) = %+v, %v; want an invalid-request error", in, s, err)
		}
	}
}

func TestShardString(t *testing.T) {
	for s, want := range map[Shard]string{{}: "", {1, 1}: "", {2, 4}: "2/4"} {
		if got := s.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", s, got, want)
		}
		if s.Normal().Of < 1 {
			t.Errorf("%+v.Normal() = %+v", s, s.Normal())
		}
	}
}
