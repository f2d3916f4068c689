package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"time"
)

// The push texts of every scenario, in Norwegian Bokmål ("nb", also used for Nynorsk unless an override
// gives "nn") and English ("en"). Organisations override them in scheduler.scenario_config.params.templates
// (see docs/push.md); the fields a template can use are those of Facts.
var builtinTemplates = map[string]map[string][2]string{
	Inactivity: {
		"nb": {"Vi savner deg!",
			"Hei {{.FirstName}}! Det er {{.DaysInactive}} dager siden du sist registrerte en aktivitet. Har du hatt en samtale nylig? Registrer den i appen."},
		"en": {"We miss you!",
			"Hi {{.FirstName}}! It has been {{.DaysInactive}} days since you last registered an activity. Had a conversation lately? Register it in the app."},
	},
	Milestone: {
		"nb": {"Gratulerer med {{.Level}} aktiviteter!",
			"Du har nå registrert {{.ActivityCount}} aktiviteter som likeperson, {{.FirstName}}. Tusen takk for innsatsen!"},
		"en": {"Congratulations on {{.Level}} activities!",
			"You have now registered {{.ActivityCount}} activities as a peer mentor, {{.FirstName}}. Thank you for your effort!"},
	},
	CertificationExpiry: {
		"nb": {"{{.CertificationName}} utløper snart",
			"Sertifiseringen din «{{.CertificationName}}» utløper {{.ExpiresAt}} ({{if eq .DaysLeft 0}}i dag{{else if eq .DaysLeft 1}}i morgen{{else}}om {{.DaysLeft}} dager{{end}}). Husk å fornye den."},
		"en": {"{{.CertificationName}} expires soon",
			"Your certification \"{{.CertificationName}}\" expires on {{.ExpiresAt}} ({{if eq .DaysLeft 0}}today{{else if eq .DaysLeft 1}}tomorrow{{else}}in {{.DaysLeft}} days{{end}}). Remember to renew it."},
	},
}

// DefaultLocale is the language of a mentor whose locale has no template.
const DefaultLocale = "nb"

// Locales a template may be given for.
var Locales = []string{"nb", "nn", "en"}

// NorwegianDate is the layout of dates in push texts (24.12.2026), in every language.
const NorwegianDate = "02.01.2006"

// Facts are what a push template can use, filled from the notification's data and the mentor.
type Facts struct {
	// Name is the mentor's full name; FirstName its first word.
	Name, FirstName string
	// inactivity
	DaysInactive     int
	InactivityDays   int
	LastActivityDate string // NorwegianDate, "" when the mentor never registered one
	// milestone
	Level, ActivityCount int
	// certification_expiry
	CertificationName string
	ExpiresAt         string // NorwegianDate
	DaysLeft, Rung    int
}

// sampleFacts exercise every field when a template is checked.
var sampleFacts = Facts{Name: "Kari Nordmann", FirstName: "Kari", DaysInactive: 14, InactivityDays: 14,
	LastActivityDate: "10.12.2026", Level: 25, ActivityCount: 25, CertificationName: "Førstehjelp",
	ExpiresAt: "24.12.2026", DaysLeft: 7, Rung: 7}

// factsOf reads a notification's data (as the scenario SQL writes it) and the mentor's name.
func factsOf(fullName string, data []byte) (Facts, error) {
	var d struct {
		DaysInactive      int    `json:"days_inactive"`
		InactivityDays    int    `json:"inactivity_days"`
		LastActivityDate  string `json:"last_activity_date"`
		Level             int    `json:"level"`
		ActivityCount     int    `json:"activity_count"`
		CertificationName string `json:"certification_name"`
		ExpiresAt         string `json:"expires_at"`
		DaysLeft          int    `json:"days_left"`
		Rung              int    `json:"rung"`
	}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &d); err != nil {
			return Facts{}, fmt.Errorf("notification data: %w", err)
		}
	}
	f := Facts{Name: fullName, FirstName: fullName, DaysInactive: d.DaysInactive, InactivityDays: d.InactivityDays,
		Level: d.Level, ActivityCount: d.ActivityCount, CertificationName: d.CertificationName,
		DaysLeft: d.DaysLeft, Rung: d.Rung}
	if first, _, ok := strings.Cut(strings.TrimSpace(fullName), " "); ok {
		f.FirstName = first
	}
	var err error
	if f.LastActivityDate, err = norwegianDate(d.LastActivityDate); err != nil {
		return Facts{}, err
	}
	if f.ExpiresAt, err = norwegianDate(d.ExpiresAt); err != nil {
		return Facts{}, err
	}
	return f, nil
}

func norwegianDate(iso string) (string, error) {
	if iso == "" {
		return "", nil
	}
	t, err := time.Parse(DateLayout, iso)
	if err != nil {
		return "", fmt.Errorf("notification data: date %q: %w", iso, err)
	}
	return t.Format(NorwegianDate), nil
}

// pushTemplate is a parsed title and body.
type pushTemplate struct{ title, body *template.Template }

func parsePushTemplate(name, title, body string) (*pushTemplate, error) {
	if strings.TrimSpace(title) == "" || strings.TrimSpace(body) == "" {
		return nil, fmt.Errorf("%s: title and body must both be given", name)
	}
	t := &pushTemplate{}
	var err error
	if t.title, err = template.New(name + " title").Option("missingkey=error").Parse(title); err != nil {
		return nil, err
	}
	if t.body, err = template.New(name + " body").Option("missingkey=error").Parse(body); err != nil {
		return nil, err
	}
	if _, _, err := t.render(sampleFacts); err != nil {
		return nil, err
	}
	return t, nil
}

// render fills the template; a blank title or body is an error, never a blank push.
func (t *pushTemplate) render(f Facts) (title, body string, err error) {
	var b bytes.Buffer
	if err := t.title.Execute(&b, f); err != nil {
		return "", "", err
	}
	title = strings.TrimSpace(b.String())
	b.Reset()
	if err := t.body.Execute(&b, f); err != nil {
		return "", "", err
	}
	body = strings.TrimSpace(b.String())
	if title == "" || body == "" {
		return "", "", fmt.Errorf("%s rendered a blank title or body", t.title.Name())
	}
	return title, body, nil
}

// templateKey names a template: organisation "" is the project-wide level.
type templateKey struct{ org, scenario, locale string }

// Templates are the push texts in force: overrides from the scenario configuration over the built-ins.
type Templates struct {
	m map[templateKey]*pushTemplate
}

// builtins are parsed once; a broken built-in stops the program at start.
var builtins = func() map[templateKey]*pushTemplate {
	m := map[templateKey]*pushTemplate{}
	for _, s := range Scenarios {
		for _, loc := range []string{"nb", "en"} {
			tt, ok := builtinTemplates[s][loc]
			if !ok {
				panic(fmt.Sprintf("engine: no built-in push template for scenario %s, locale %s", s, loc))
			}
			t, err := parsePushTemplate(s+"/"+loc, tt[0], tt[1])
			if err != nil {
				panic("engine: built-in push template: " + err.Error())
			}
			m[templateKey{"", s, loc}] = t
		}
	}
	return m
}()

// NewTemplates checks overrides and returns the templates in force. Every problem is named in one error:
// organisation, scenario and locale, and what is wrong.
func NewTemplates(overrides []TemplateOverride) (*Templates, error) {
	t := &Templates{m: map[templateKey]*pushTemplate{}}
	var problems []string
	for _, o := range overrides {
		where := fmt.Sprintf("scenario %s, locale %s, organisation %s", o.Scenario, o.Locale, orDefault(o.OrganisationID))
		if !KnownScenario(o.Scenario) {
			problems = append(problems, where+": unknown scenario")
			continue
		}
		if !knownLocale(o.Locale) {
			problems = append(problems, fmt.Sprintf("%s: unknown locale (known: %v)", where, Locales))
			continue
		}
		pt, err := parsePushTemplate(o.Scenario+"/"+o.Locale, o.Title, o.Body)
		if err != nil {
			problems = append(problems, where+": "+err.Error())
			continue
		}
		t.m[templateKey{o.OrganisationID, o.Scenario, o.Locale}] = pt
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, &Error{Code: Internal, Message: "push templates in scheduler.scenario_config are invalid: " +
			strings.Join(problems, "; ")}
	}
	return t, nil
}

func orDefault(org string) string {
	if org == "" {
		return "(default)"
	}
	return org
}

func knownLocale(l string) bool {
	for _, k := range Locales {
		if k == l {
			return true
		}
	}
	return false
}

// lookup finds the template for one organisation, scenario and mentor locale: the organisation's, then the
// project's, then the built-in, in the mentor's language, then in DefaultLocale.
func (t *Templates) lookup(org, scenario, locale string) *pushTemplate {
	locales := []string{locale}
	if locale != DefaultLocale {
		locales = append(locales, DefaultLocale)
	}
	for _, loc := range locales {
		for _, k := range []templateKey{{org, scenario, loc}, {"", scenario, loc}} {
			if pt := t.m[k]; pt != nil {
				return pt
			}
		}
		if pt := builtins[templateKey{"", scenario, loc}]; pt != nil {
			return pt
		}
	}
	return nil
}

// Render returns the push title and body of one claimed notification.
func (t *Templates) Render(d Delivery) (title, body string, err error) {
	pt := t.lookup(d.OrganisationID, d.Scenario, d.Locale)
	if pt == nil {
		return "", "", fmt.Errorf("no push template for scenario %q", d.Scenario)
	}
	f, err := factsOf(d.FullName, d.Data)
	if err != nil {
		return "", "", err
	}
	return pt.render(f)
}

// CheckDelivery loads and checks the push templates of the scenario configuration: entry points call it at
// start so that a broken template is a clear configuration error, not a failed push later. It is a no-op
// without a Sender.
func (e *Engine) CheckDelivery(ctx context.Context) error {
	if e.opt.Sender == nil {
		return nil
	}
	_, err := e.templates(ctx)
	return err
}

// templates loads the templates in force.
func (e *Engine) templates(ctx context.Context) (*Templates, error) {
	ds, ok := e.store.(DeliveryStore)
	if !ok {
		return nil, Errorf(Internal, "push delivery is configured but the store has no outbox")
	}
	overrides, err := ds.PushTemplates(ctx)
	if err != nil {
		return nil, err
	}
	return NewTemplates(overrides)
}
