package sqltree_test

import (
	"strings"
	"testing"

	"github.com/peermentor/scenario-scheduler/infra/dev/sqltree"
)

// sampleDump is a small plain pg_dump in the shape pg_dump 15 writes: the preamble, overloads whose comment
// and grant tags name their arguments, a table with an identity sequence and its dependents, a view, an
// object outside the scope and a trailer.
const sampleDump = `--
-- PostgreSQL database dump
--

\restrict abc123

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: scheduler; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA scheduler;


--
-- Name: auth; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA auth;


--
-- Name: f(integer); Type: FUNCTION; Schema: scheduler; Owner: -
--

CREATE FUNCTION scheduler.f(p_n integer) RETURNS integer
    LANGUAGE sql
    AS $$

  select p_n

$$;


--
-- Name: FUNCTION f(p_n integer); Type: COMMENT; Schema: scheduler; Owner: -
--

COMMENT ON FUNCTION scheduler.f(p_n integer) IS 'one';


--
-- Name: f(integer, text); Type: FUNCTION; Schema: scheduler; Owner: -
--

CREATE FUNCTION scheduler.f(p_n integer, p_t text DEFAULT ''::text) RETURNS integer
    LANGUAGE sql
    AS $$ select p_n $$;


--
-- Name: uid(); Type: FUNCTION; Schema: auth; Owner: -
--

CREATE FUNCTION auth.uid() RETURNS uuid
    LANGUAGE sql
    AS $$ select null::uuid $$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: runs; Type: TABLE; Schema: scheduler; Owner: -
--

CREATE TABLE scheduler.runs (
    id bigint NOT NULL
);


--
-- Name: runs_id_seq; Type: SEQUENCE; Schema: scheduler; Owner: -
--

ALTER TABLE scheduler.runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME scheduler.runs_id_seq
);


--
-- Name: v; Type: VIEW; Schema: scheduler; Owner: -
--

CREATE VIEW scheduler.v AS
 SELECT runs.id
   FROM scheduler.runs;


--
-- Name: runs runs_pkey; Type: CONSTRAINT; Schema: scheduler; Owner: -
--

ALTER TABLE ONLY scheduler.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);


--
-- Name: runs_id; Type: INDEX; Schema: scheduler; Owner: -
--

CREATE INDEX runs_id ON scheduler.runs USING btree (id);


--
-- Name: runs; Type: ROW SECURITY; Schema: scheduler; Owner: -
--

ALTER TABLE scheduler.runs ENABLE ROW LEVEL SECURITY;


--
-- Name: FUNCTION f(p_n integer, p_t text); Type: ACL; Schema: scheduler; Owner: -
--

REVOKE ALL ON FUNCTION scheduler.f(p_n integer, p_t text) FROM PUBLIC;


--
-- Name: FUNCTION uid(); Type: ACL; Schema: auth; Owner: -
--

GRANT ALL ON FUNCTION auth.uid() TO anon;


--
-- Name: SEQUENCE runs_id_seq; Type: ACL; Schema: scheduler; Owner: -
--

GRANT ALL ON SEQUENCE scheduler.runs_id_seq TO anon;


--
-- PostgreSQL database dump complete
--

\unrestrict abc123

`

func TestSplitGroupsObjects(t *testing.T) {
	t.Parallel()
	objs, err := sqltree.Split(sqltree.ParseDump(sampleDump), sqltree.Scope{Schemas: []string{"scheduler"}})
	if err != nil {
		t.Fatal(err)
	}
	files := sqltree.Files(objs)
	var paths []string
	for _, o := range objs {
		paths = append(paths, o.Path)
	}
	if got, want := strings.Join(paths, " "), "scheduler/functions/f.sql scheduler/schema.sql scheduler/tables/runs.sql scheduler/views/v.sql"; got != want {
		t.Fatalf("files: %s\nwant:  %s", got, want)
	}

	wantF := `-- Function scheduler.f, current definition. Edit here, then ` + "`go tool task sql:migration -- NAME`" + ` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.f(p_n integer) RETURNS integer
    LANGUAGE sql
    AS $$

  select p_n

$$;

COMMENT ON FUNCTION scheduler.f(p_n integer) IS 'one';

CREATE OR REPLACE FUNCTION scheduler.f(p_n integer, p_t text DEFAULT ''::text) RETURNS integer
    LANGUAGE sql
    AS $$ select p_n $$;

REVOKE ALL ON FUNCTION scheduler.f(p_n integer, p_t text) FROM PUBLIC;
`
	if got := files["scheduler/functions/f.sql"]; got != wantF {
		t.Errorf("f.sql (overloads, each with its comment and grant; blank lines inside the body kept):\n%s\nwant:\n%s", got, wantF)
	}
	runs := files["scheduler/tables/runs.sql"]
	for _, s := range []string{"CREATE TABLE scheduler.runs", "ADD GENERATED ALWAYS AS IDENTITY", "runs_pkey", "CREATE INDEX runs_id",
		"ENABLE ROW LEVEL SECURITY", "GRANT ALL ON SEQUENCE scheduler.runs_id_seq"} {
		if !strings.Contains(runs, s) {
			t.Errorf("runs.sql lacks %q:\n%s", s, runs)
		}
	}
	if v := files["scheduler/views/v.sql"]; !strings.Contains(v, "CREATE OR REPLACE VIEW scheduler.v AS") {
		t.Errorf("v.sql: %s", v)
	}
	all := strings.Join([]string{runs, files["scheduler/functions/f.sql"], files["scheduler/schema.sql"]}, "\n")
	for _, noise := range []string{"SET ", `\restrict`, `\unrestrict`, "-- Name:", "auth.", "dump complete", "\n\n\n"} {
		if strings.Contains(all, noise) {
			t.Errorf("the tree holds %q", noise)
		}
	}
}

func TestSplitRefusesWhatItCannotPlace(t *testing.T) {
	t.Parallel()
	dump := sampleDump + `--
-- Name: FUNCTION gone(p_x integer); Type: COMMENT; Schema: scheduler; Owner: -
--

COMMENT ON FUNCTION scheduler.gone(p_x integer) IS 'x';
`
	if _, err := sqltree.Split(sqltree.ParseDump(dump), sqltree.Scope{Schemas: []string{"scheduler"}}); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("err = %v, want one naming the entry it cannot place", err)
	}
}

func TestLineDiff(t *testing.T) {
	t.Parallel()
	got := sqltree.LineDiff("a\nb\nc\nd\ne\nf\ng", "a\nb\nc\nD\ne\nf\ng", 40)
	want := "  @@ line 2\n    b\n    c\n  - d\n  + D\n    e\n    f"
	if got != want {
		t.Fatalf("LineDiff:\n%s\nwant:\n%s", got, want)
	}
}

func TestSplitKeepsSerialSequencesWithTheirTable(t *testing.T) {
	t.Parallel()
	dump := `--
-- Name: jobs; Type: TABLE; Schema: scheduler; Owner: -
--

CREATE TABLE scheduler.jobs (
    id integer NOT NULL
);


--
-- Name: jobs_id_seq; Type: SEQUENCE; Schema: scheduler; Owner: -
--

CREATE SEQUENCE scheduler.jobs_id_seq
    AS integer;


--
-- Name: jobs_id_seq; Type: SEQUENCE OWNED BY; Schema: scheduler; Owner: -
--

ALTER SEQUENCE scheduler.jobs_id_seq OWNED BY scheduler.jobs.id;


--
-- Name: tickets; Type: SEQUENCE; Schema: scheduler; Owner: -
--

CREATE SEQUENCE scheduler.tickets;


--
-- Name: jobs id; Type: DEFAULT; Schema: scheduler; Owner: -
--

ALTER TABLE ONLY scheduler.jobs ALTER COLUMN id SET DEFAULT nextval('scheduler.jobs_id_seq'::regclass);
`
	objs, err := sqltree.Split(sqltree.ParseDump(dump), sqltree.Scope{Schemas: []string{"scheduler"}})
	if err != nil {
		t.Fatal(err)
	}
	files := sqltree.Files(objs)
	if len(files) != 2 || files["scheduler/sequences/tickets.sql"] == "" {
		t.Fatalf("files: %v", files)
	}
	jobs := files["scheduler/tables/jobs.sql"]
	for _, s := range []string{"CREATE SEQUENCE scheduler.jobs_id_seq", "OWNED BY scheduler.jobs.id", "SET DEFAULT nextval"} {
		if !strings.Contains(jobs, s) {
			t.Errorf("jobs.sql lacks %q:\n%s", s, jobs)
		}
	}
}
