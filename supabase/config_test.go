package supabase_test

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// knownKeys are the config.toml keys this project uses, as the Supabase CLI defines them. The CLI ignores
// unknown keys without a word; this test keeps the file to keys that exist (no invented ones such as
// max_duration_secs), since a misspelt key would otherwise silently do nothing.
var knownKeys = map[string][]string{
	"":                             {"project_id"},
	"api":                          {"enabled", "port", "schemas", "extra_search_path", "max_rows"},
	"db":                           {"port", "shadow_port", "major_version"},
	"db.seed":                      {"enabled", "sql_paths"},
	"functions.scenario-scheduler": {"verify_jwt"},
}

func TestConfigTomlUsesOnlyKnownKeys(t *testing.T) {
	f, err := os.Open("config.toml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	section, got := "", map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			if _, ok := knownKeys[section]; !ok {
				t.Errorf("line %d: unknown section [%s]", n, section)
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || !slices.Contains(knownKeys[section], key) {
			t.Errorf("line %d: key %q is not a Supabase CLI key of [%s]", n, key, section)
		}
		got[section+"."+key] = value
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"db.major_version":                        "15",
		"functions.scenario-scheduler.verify_jwt": "false",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
}
