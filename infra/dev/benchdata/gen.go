package benchdata

import (
	"encoding/hex"
	"math"
	"math/rand/v2"
	"time"
)

// Today is the evaluation date the dataset is built around: activities lie in the two years before it,
// certifications expire around it.
var Today = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// DefaultSeed is the seed of the committed benchmark figures.
const DefaultSeed = 20261126

// MentorsPerOrganisation sets how many organisations a size gets (at least one).
const MentorsPerOrganisation = 2_000

// Spec describes one dataset.
type Spec struct {
	// Mentors is the number of peer mentors (all statuses).
	Mentors int
	// Seed makes the dataset reproducible.
	Seed uint64
}

// mentor is one generated peer mentor; its activities, certifications and tokens derive from its own seed.
type mentor struct {
	id       [16]byte
	org      int
	status   string
	locale   string
	joinedOn time.Time
	seed     uint64
}

// generator produces the rows of a Spec.
type generator struct {
	spec    Spec
	orgs    [][16]byte
	mentors []mentor
}

func newGenerator(s Spec) *generator {
	rng := rand.New(rand.NewPCG(s.Seed, 1))
	g := &generator{spec: s}
	nOrgs := max(1, (s.Mentors+MentorsPerOrganisation-1)/MentorsPerOrganisation)
	g.orgs = make([][16]byte, nOrgs)
	for i := range g.orgs {
		g.orgs[i] = uuid(rng)
	}
	g.mentors = make([]mentor, s.Mentors)
	for i := range g.mentors {
		m := &g.mentors[i]
		m.id = uuid(rng)
		m.org = rng.IntN(nOrgs)
		switch r := rng.IntN(100); {
		case r < 90:
			m.status = "active"
		case r < 95:
			m.status = "paused"
		default:
			m.status = "inactive"
		}
		m.locale = [...]string{"nb", "nb", "nb", "nn", "en"}[rng.IntN(5)]
		// Joined up to three years before Today; some very recently.
		m.joinedOn = Today.AddDate(0, 0, -1-rng.IntN(3*365))
		m.seed = rng.Uint64()
	}
	return g
}

// activityDays returns the activity dates (days before Today, ≥ 1) of one mentor: about 20 on average,
// skewed. One in six mentors never registered anything, one in fifty is very active (100–400), the rest
// follow an exponential distribution. Dates fall within two years and after the mentor joined.
func (m *mentor) activityDays(buf []int) []int {
	rng := rand.New(rand.NewPCG(m.seed, 2))
	buf = buf[:0]
	var n int
	switch r := rng.IntN(100); {
	case r < 16:
		return buf
	case r < 18:
		n = 100 + rng.IntN(300)
	default:
		n = 1 + int(-17*math.Log(1-rng.Float64()))
	}
	span := min(730, int(Today.Sub(m.joinedOn).Hours()/24))
	// Some mentors drifted away: their activities stop some time before Today.
	stop := 1
	if rng.IntN(3) == 0 {
		stop = 1 + rng.IntN(span)
	}
	if stop >= span {
		stop = 1
	}
	for range n {
		buf = append(buf, stop+rng.IntN(span-stop+1))
	}
	return buf
}

// certifications returns the expiry offsets (days after Today, may be negative) of a mentor's
// certifications: 0 to 2, spread over a year either side so that every rung has mentors in it.
func (m *mentor) certifications() []int {
	rng := rand.New(rand.NewPCG(m.seed, 3))
	n := [...]int{0, 1, 1, 1, 2}[rng.IntN(5)]
	out := make([]int, n)
	for i := range out {
		out[i] = rng.IntN(730) - 365
	}
	return out
}

// tokens returns the number of device tokens of a mentor (0 to 2).
func (m *mentor) tokens() int {
	rng := rand.New(rand.NewPCG(m.seed, 4))
	return [...]int{0, 1, 1, 1, 2}[rng.IntN(5)]
}

func uuid(rng *rand.Rand) [16]byte {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

func tokenText(id [16]byte, i int) string {
	return "bench-" + hex.EncodeToString(id[:]) + "-" + string(rune('a'+i))
}
