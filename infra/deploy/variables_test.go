package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/peermentor/scenario-scheduler/functions/config"
)

// TestVariablesAcceptWhatTheFunctionAccepts evaluates the validation blocks of the Terraform roots'
// variables that end up in the function's environment, value by value, and holds them against
// config.Load: a value Terraform lets through must start the function, and a value the function refuses
// must fail the plan. (A LOG_LEVEL of TRACE once passed the plan and failed every cold start.)
func TestVariablesAcceptWhatTheFunctionAccepts(t *testing.T) {
	levels := []string{"trace", "debug", "info", "warn", "warning", "error", "fatal", "verbose"}
	senders := []string{"", "fcm", "none", "log", "off", "FCM", "apns"}
	upper := func(vs []string) []string {
		var out []string
		for _, v := range vs {
			out = append(out, strings.ToUpper(v))
		}
		return out
	}

	cases := []struct {
		root, variable string
		candidates     []string
		// value is the variable's value for a candidate, env what the function then gets.
		value func(string) cty.Value
		env   func(string) map[string]string
	}{
		{"aws", "log_level", upper(levels),
			cty.StringVal, func(v string) map[string]string { return map[string]string{config.LogLevel: strings.ToLower(v)} }},
		{"aws", "push_sender", senders,
			cty.StringVal, func(v string) map[string]string { return map[string]string{config.PushSender: v} }},
		{"gcp", "push_sender", senders,
			cty.StringVal, func(v string) map[string]string { return map[string]string{config.PushSender: v} }},
		{"gcp", "environment", append(levels, upper(levels)...),
			func(v string) cty.Value { return cty.MapVal(map[string]cty.Value{config.LogLevel: cty.StringVal(v)}) },
			func(v string) map[string]string { return map[string]string{config.LogLevel: v} }},
	}
	for _, tc := range cases {
		t.Run(tc.root+"/"+tc.variable, func(t *testing.T) {
			conds := validations(t, filepath.Join(tc.root, "variables.tf"), tc.variable)
			accepted := 0
			for _, c := range tc.candidates {
				tf := evalValidations(t, conds, tc.variable, tc.value(c))
				_, err := config.Load(lookup(tc.env(c)))
				fn := err == nil
				if tf != fn {
					t.Errorf("%s = %q: Terraform accepts it: %t, the function accepts it: %t (%v)", tc.variable, c, tf, fn, err)
				}
				if tf {
					accepted++
				}
			}
			if accepted == 0 {
				t.Errorf("no candidate accepted: the test compares nothing")
			}
		})
	}

	// The push sender is a choice: no default in either root.
	for _, root := range []string{"aws", "gcp"} {
		block := variableBlock(t, filepath.Join(root, "variables.tf"), "push_sender")
		if _, ok := block.Body.Attributes["default"]; ok {
			t.Errorf("%s: push_sender has a default; the operator must choose", root)
		}
	}
}

// lookup is an environment with the required variables and env.
func lookup(env map[string]string) func(string) (string, bool) {
	m := map[string]string{config.DatabaseURL: "postgres://u:p@localhost:5432/db",
		config.Secret: strings.Repeat("s", config.MinSecretLength), config.PushSender: config.SenderNone}
	for k, v := range env {
		m[k] = v
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func variableBlock(t *testing.T, path, name string) *hclsyntax.Block {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "variable" && len(b.Labels) == 1 && b.Labels[0] == name {
			return b
		}
	}
	t.Fatalf("%s: no variable %q", path, name)
	return nil
}

// validations returns the conditions of a variable's validation blocks.
func validations(t *testing.T, path, name string) []hcl.Expression {
	t.Helper()
	var conds []hcl.Expression
	for _, v := range variableBlock(t, path, name).Body.Blocks {
		if v.Type == "validation" {
			conds = append(conds, v.Body.Attributes["condition"].Expr)
		}
	}
	if len(conds) == 0 {
		t.Fatalf("%s: variable %q has no validation", path, name)
	}
	return conds
}

// evalValidations reports whether every condition holds for var.<name> = value.
func evalValidations(t *testing.T, conds []hcl.Expression, name string, value cty.Value) bool {
	t.Helper()
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{name: value})},
		Functions: map[string]function.Function{"contains": stdlib.ContainsFunc, "lower": stdlib.LowerFunc,
			"lookup": stdlib.LookupFunc, "keys": stdlib.KeysFunc},
	}
	for _, c := range conds {
		v, diags := c.Value(ctx)
		if diags.HasErrors() {
			t.Fatalf("evaluating %s: %v", fmt.Sprint(c.Range()), diags)
		}
		if v.IsNull() || !v.True() {
			return false
		}
	}
	return true
}
