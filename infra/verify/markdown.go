package verify

import (
	"fmt"
	"strings"
	"time"
)

// Markdown renders the report.
func (r Report) Markdown() string {
	var b strings.Builder
	passed := 0
	for _, c := range r.Results {
		if c.Outcome == Pass {
			passed++
		}
	}
	verdict := "**PASSED**"
	if !r.OK() {
		verdict = "**FAILED**"
	}
	fmt.Fprintf(&b, "# Deployment verification: %s\n\n", verdict)
	fmt.Fprintf(&b, "%d of %d checks passed.\n\n", passed, len(r.Results))
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Database | `%s` |\n", r.Database)
	fmt.Fprintf(&b, "| Function | `%s` |\n", r.Function)
	fmt.Fprintf(&b, "| Started | %s |\n", r.StartedAt.Format(time.RFC3339))
	fmt.Fprintf(&b, "| Took | %s |\n\n", r.Duration.Round(time.Millisecond))

	b.WriteString("| # | Check | Result |\n|---|---|---|\n")
	for _, c := range r.Results {
		mark := "✅ pass"
		if c.Outcome != Pass {
			mark = "❌ FAIL"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.ID, c.Title, mark)
	}
	for _, c := range r.Results {
		fmt.Fprintf(&b, "\n## %s. %s\n\n**%s**: %s\n", c.ID, c.Title, strings.ToUpper(string(c.Outcome)), c.Detail)
		if c.Evidence != "" {
			fmt.Fprintf(&b, "\n```\n%s\n```\n", strings.TrimRight(c.Evidence, "\n"))
		}
	}
	return b.String()
}
