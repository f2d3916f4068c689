package engine_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/peermentor/scenario-scheduler/engine"
)

// Scenarios evaluated at the same time give the same notifications and reports, in the same order, as one
// after another.
func TestParallelScenariosEqualSequential(t *testing.T) {
	t.Parallel()
	small := func(o *engine.Options) { o.MinBatch, o.MaxBatch = 10, 40 }
	seq := setup(t, small)
	par := setup(t, small, func(o *engine.Options) { o.Parallelism = 3 })
	for _, b := range []*testBundle{seq, par} {
		b.population(t, 400)
	}
	want := seq.run(t, engine.Request{})
	got := par.run(t, engine.Request{})
	if got.Status != engine.Completed {
		t.Fatalf("parallel run: %s", got.Status)
	}
	ignore := cmpopts.IgnoreFields(engine.Report{}, "RunID", "StartedAt", "DurationMS", "BudgetMS")
	if diff := cmp.Diff(want, got, ignore, ignoreTiming); diff != "" {
		t.Errorf("parallel report differs (-sequential +parallel):\n%s", diff)
	}
	key := func(n notification) string { return n.Key }
	sortByKey := cmpopts.SortSlices(func(a, b notification) bool { return key(a) < key(b) })
	// The two databases have different organisation ids but the same mentors (md5 ids), keys and data.
	if diff := cmp.Diff(seq.notifications(t), par.notifications(t), sortByKey); diff != "" {
		t.Errorf("notifications differ (-sequential +parallel):\n%s", diff)
	}
}
