package engine

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

// TestRegistryGoSide: every scenario has built-in templates in every built-in locale and data keys, no
// other scenario has either, and factsOf reads every data key (a key it ignored would leave its Facts
// field empty).
func TestRegistryGoSide(t *testing.T) {
	var withTemplates, withKeys []string
	for s := range builtinTemplates {
		withTemplates = append(withTemplates, s)
	}
	for s := range DataKeys {
		withKeys = append(withKeys, s)
	}
	want := slices.Sorted(slices.Values(Scenarios))
	if slices.Sort(withTemplates); !slices.Equal(withTemplates, want) {
		t.Errorf("built-in templates for %v, scenarios %v", withTemplates, want)
	}
	if slices.Sort(withKeys); !slices.Equal(withKeys, want) {
		t.Errorf("data keys for %v, scenarios %v", withKeys, want)
	}
	samples := map[string]any{"days_inactive": 3, "inactivity_days": 14, "last_activity_date": "2026-01-02",
		"level": 10, "activity_count": 11, "certification_name": "Kurs", "expires_at": "2026-02-03", "days_left": 7, "rung": 7}
	for s, keys := range DataKeys {
		for _, k := range keys {
			v, ok := samples[k]
			if !ok {
				t.Errorf("%s: data key %q has no sample here: add one", s, k)
				continue
			}
			data, _ := json.Marshal(map[string]any{k: v})
			f, err := factsOf("Kari Nordmann", data)
			base, _ := factsOf("Kari Nordmann", nil)
			if err != nil || reflect.DeepEqual(f, base) {
				t.Errorf("%s: factsOf does not read data key %q (%v)", s, k, err)
			}
		}
	}
}
