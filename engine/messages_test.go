package engine_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/peermentor/scenario-scheduler/engine"
)

func TestBuiltinTemplates(t *testing.T) {
	t.Parallel()
	tpl, err := engine.NewTemplates(nil)
	if err != nil {
		t.Fatal(err)
	}
	cert := func(locale string, daysLeft string) engine.Delivery {
		return engine.Delivery{Scenario: engine.CertificationExpiry, Locale: locale, FullName: "Ingrid Hansen",
			Data: []byte(`{"certification_name": "Førstehjelp", "expires_at": "2026-12-24", "days_left": ` + daysLeft + `, "rung": 30}`)}
	}
	for _, tc := range []struct {
		name        string
		d           engine.Delivery
		title, body string
	}{
		{"certification nb", cert("nb", "23"), "Førstehjelp utløper snart",
			"Sertifiseringen din «Førstehjelp» utløper 24.12.2026 (om 23 dager). Husk å fornye den."},
		{"certification nb tomorrow", cert("nb", "1"), "Førstehjelp utløper snart",
			"Sertifiseringen din «Førstehjelp» utløper 24.12.2026 (i morgen). Husk å fornye den."},
		{"certification en today", cert("en", "0"), "Førstehjelp expires soon",
			`Your certification "Førstehjelp" expires on 24.12.2026 (today). Remember to renew it.`},
		{"milestone nn falls back to nb", engine.Delivery{Scenario: engine.Milestone, Locale: "nn", FullName: "Ola",
			Data: []byte(`{"level": 50, "activity_count": 51}`)}, "Gratulerer med 50 aktiviteter!",
			"Du har nå registrert 51 aktiviteter som likeperson, Ola. Tusen takk for innsatsen!"},
		{"milestone en", engine.Delivery{Scenario: engine.Milestone, Locale: "en", FullName: "Emma Smith",
			Data: []byte(`{"level": 10, "activity_count": 10}`)}, "Congratulations on 10 activities!",
			"You have now registered 10 activities as a peer mentor, Emma. Thank you for your effort!"},
		{"inactivity never active", engine.Delivery{Scenario: engine.Inactivity, Locale: "nb", FullName: "Kari Nordmann",
			Data: []byte(`{"days_inactive": 30, "inactivity_days": 14, "last_activity_date": null}`)}, "Vi savner deg!",
			"Hei Kari! Det er 30 dager siden du sist registrerte en aktivitet. Har du hatt en samtale nylig? Registrer den i appen."},
	} {
		title, body, err := tpl.Render(tc.d)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff([2]string{tc.title, tc.body}, [2]string{title, body}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestTemplateOverrideProblemsAreNamed(t *testing.T) {
	t.Parallel()
	_, err := engine.NewTemplates([]engine.TemplateOverride{
		{OrganisationID: "org-1", Scenario: engine.Milestone, Locale: "en", Title: "{{.Level", Body: "x"},
		{Scenario: engine.Inactivity, Locale: "nb", Title: "Hei", Body: "{{.Days}} dager"},
		{OrganisationID: "org-2", Scenario: engine.Inactivity, Locale: "de", Title: "Hallo", Body: "x"},
		{OrganisationID: "org-3", Scenario: engine.CertificationExpiry, Locale: "nb", Title: "{{if false}}{{end}}", Body: "x"},
		{OrganisationID: "org-4", Scenario: "birthday", Locale: "nb", Title: "Hei", Body: "x"},
	})
	if err == nil {
		t.Fatal("no error for five broken templates")
	}
	for _, want := range []string{"scenario milestone, locale en, organisation org-1", "scenario inactivity, locale nb, organisation (default)",
		"can't evaluate field Days", "locale de", "rendered a blank title", "unknown scenario"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	if engine.ErrorCode(err) != engine.Internal {
		t.Errorf("code %s, want internal (a configuration error, not a bad request)", engine.ErrorCode(err))
	}
}
