package engine

import "testing"

// The one ranking of statuses: the worst news wins, already_completed only when everything was already done.
func TestWorst(t *testing.T) {
	cases := []struct {
		in   []Status
		want Status
	}{
		{nil, Completed},
		{[]Status{AlreadyCompleted}, AlreadyCompleted},
		{[]Status{AlreadyCompleted, AlreadyCompleted}, AlreadyCompleted},
		{[]Status{AlreadyCompleted, Completed}, Completed},
		{[]Status{Completed, Busy, AlreadyCompleted}, Busy},
		{[]Status{Busy, Partial, Completed}, Partial},
		{[]Status{Partial, Failed, Busy}, Failed},
		{[]Status{Failed, AlreadyCompleted}, Failed},
		{[]Status{Completed, Off}, Completed},
	}
	for _, c := range cases {
		if got := worst(c.in...); got != c.want {
			t.Errorf("worst(%v) = %s, want %s", c.in, got, c.want)
		}
	}
	reports := []ScenarioReport{{Status: Completed}, {Status: Partial}, {Status: Busy}}
	if got := overallStatus(reports); got != Partial {
		t.Errorf("overallStatus = %s, want partial", got)
	}
}
