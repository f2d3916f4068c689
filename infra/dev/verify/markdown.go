package verify

import (
	"fmt"
	"strings"
	"time"
)

// Markdown renders the report.
func (r Report) Markdown() string {
	var b strings.Builder
	passed, skipped := 0, 0
	for _, c := range r.Results {
		switch c.Outcome {
		case Pass:
			passed++
		case Skip:
			skipped++
		}
	}
	verdict := "**PASSED**"
	if !r.OK() {
		verdict = "**FAILED**"
	}
	fmt.Fprintf(&b, "# Deployment verification: %s\n\n", verdict)
	fmt.Fprintf(&b, "%d of %d checks passed", passed, len(r.Results))
	if skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", skipped)
	}
	b.WriteString(".\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Database | `%s` |\n", r.Database)
	fmt.Fprintf(&b, "| Function | `%s` |\n", r.Function)
	fmt.Fprintf(&b, "| Started | %s |\n", r.StartedAt.Format(time.RFC3339))
	fmt.Fprintf(&b, "| Took | %s |\n\n", r.Duration.Round(time.Millisecond))

	b.WriteString("Checks 1 to 5 are the original task's deployment verification checklist, in its order and words; " +
		"6 on are the project's own.\n\n")
	b.WriteString("| # | Check | Result |\n|---|---|---|\n")
	for _, c := range r.Results {
		mark := "✅ pass"
		switch c.Outcome {
		case Fail:
			mark = "❌ FAIL"
		case Skip:
			mark = "⏭ skipped"
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

// Summary is one line per check, in order: its number, outcome, title and detail (what the command prints,
// and `task verify:local`).
func (r Report) Summary() string {
	var b strings.Builder
	for i, c := range r.Results {
		if i == 5 {
			b.WriteString("-- the project's own checks --\n")
		}
		fmt.Fprintf(&b, "%-3s %-4s %s: %s\n", c.ID, c.Outcome, c.Title, c.Detail)
	}
	return b.String()
}
