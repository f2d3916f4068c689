-- SQL signatures live one release (docs/architecture.md, "SQL signatures"): a signature replaced in release N
-- stays executable through release N, for a function deployed before it (the migrations are applied first),
-- and is dropped in release N+1. Release 2026-12-01 replaced the checkpoint and batch functions' signatures
-- twice: sharded fan-out (20261201140000) added shard and count, local time (20261201160000, 20261201160100)
-- added the slot. The store calls only the slot-and-shard signatures since then; this release drops the
-- twelve older ones, and release_checkpoint_unchecked(uuid,date,text), which only the oldest
-- release_checkpoint called (nothing calls it since the sharded one replaced it):
--   claim_checkpoint, claim_checkpoint_unchecked  (uuid,date,text,integer) and (... ,integer,integer)
--   release_checkpoint                            (uuid,date,text) and (... ,integer,integer)
--   checkpoint_progress                           (date,text) and (... ,integer,integer)
--   remaining_mentors                             (uuid) and (uuid,integer,integer)
--   evaluate_batch                                (uuid,text,date,uuid,integer,boolean) and (... ,integer,integer)
-- The current signatures (with p_slot text last) are untouched.
--
-- pg_cron's jobs keep working. The scheduler's own jobs call scheduler.invoke(), scheduler.invoke_due_slots(),
-- scheduler.watchdog() and scheduler.prune(), none of which is dropped, and every scheduler.invoke() arity a job
-- was ever scheduled with (none to six arguments, the same names) resolves to the current signature through
-- its defaults. A job that calls a dropped signature itself (scheduled by hand) would stop working: each drop
-- is tried in its own subtransaction and undone when a job of this database whose command planned before no
-- longer does (scheduler.unplannable_cron_jobs()); a NOTICE names the job and says how to change it. A job
-- whose command cannot be checked (it did not plan before the drops: several statements, a DO block) is named
-- in a NOTICE.
-- Safe to apply twice, and where pg_cron is missing.

-- The cron jobs of this database whose command does not plan, with the error: a function it calls that does
-- not exist (a signature dropped), a table or column that is gone. Each command is planned with EXPLAIN, never
-- run (planning folds only immutable calls), through a cursor: a command of several statements is refused
-- whole, not run after the first ("cannot open multi-query plan as cursor"), and listed, as is a statement
-- EXPLAIN does not take (DO, VACUUM). Reads only the jobs its caller may see in cron.job.
create or replace function scheduler.unplannable_cron_jobs()
returns table (jobid bigint, jobname text, command text, error text)
language plpgsql volatile set search_path = ''
as $$
declare
  r     record;
  v_cur refcursor;
begin
  if pg_catalog.to_regclass('cron.job') is null then
    return;
  end if;
  for r in execute 'select j.jobid, j.jobname::text as jobname, j.command::text as command from cron.job j
                    where j.database = pg_catalog.current_database() order by j.jobid' loop
    begin
      open v_cur for execute 'explain ' || pg_catalog.rtrim(pg_catalog.btrim(r.command), E'; \n\t');
      close v_cur;
    exception when others then
      jobid := r.jobid;
      jobname := r.jobname;
      command := r.command;
      error := sqlerrm;
      return next;
    end;
  end loop;
end
$$;
comment on function scheduler.unplannable_cron_jobs() is
  'The cron jobs of this database whose command does not plan (EXPLAIN, never run), with the error: e.g. a call of a dropped signature.';
revoke all on function scheduler.unplannable_cron_jobs() from public;

do $$
declare
  -- Each old signature, with the old signature that calls it (kept only while that one is).
  v_old constant text[][] := array[
    ['scheduler.claim_checkpoint(uuid,date,text,integer)', ''],
    ['scheduler.claim_checkpoint(uuid,date,text,integer,integer,integer)', ''],
    ['scheduler.release_checkpoint(uuid,date,text)', ''],
    ['scheduler.release_checkpoint(uuid,date,text,integer,integer)', ''],
    ['scheduler.checkpoint_progress(date,text)', ''],
    ['scheduler.checkpoint_progress(date,text,integer,integer)', ''],
    ['scheduler.remaining_mentors(uuid)', ''],
    ['scheduler.remaining_mentors(uuid,integer,integer)', ''],
    ['scheduler.evaluate_batch(uuid,text,date,uuid,integer,boolean)', ''],
    ['scheduler.evaluate_batch(uuid,text,date,uuid,integer,boolean,integer,integer)', ''],
    ['scheduler.claim_checkpoint_unchecked(uuid,date,text,integer)',
     'scheduler.claim_checkpoint(uuid,date,text,integer)'],
    ['scheduler.claim_checkpoint_unchecked(uuid,date,text,integer,integer,integer)',
     'scheduler.claim_checkpoint(uuid,date,text,integer,integer,integer)'],
    ['scheduler.release_checkpoint_unchecked(uuid,date,text)',
     'scheduler.release_checkpoint(uuid,date,text)']];
  v_broken  text[];  -- the jobs whose command does not plan, as "<jobname> (<jobid>): <command>"
  v_now     text[];
  v_sig     text;
  v_caller  text;
  v_job     text;
  i         integer;
begin
  v_broken := array(select u.jobname || ' (' || u.jobid || '): ' || u.command from scheduler.unplannable_cron_jobs() u);
  foreach v_job in array v_broken loop
    raise notice 'cron job % cannot be checked: its command does not plan as one statement before the drops (select * from scheduler.unplannable_cron_jobs() says why); make sure it calls no signature this migration drops', v_job;
  end loop;
  for i in 1 .. pg_catalog.array_length(v_old, 1) loop
    v_sig := v_old[i][1];
    v_caller := nullif(v_old[i][2], '');
    continue when pg_catalog.to_regprocedure(v_sig) is null;
    if v_caller is not null and pg_catalog.to_regprocedure(v_caller) is not null then
      raise notice '% is kept: % calls it and is kept', v_sig, v_caller;
      continue;
    end if;
    begin
      execute 'drop function ' || v_sig;
      v_now := array(select u.jobname || ' (' || u.jobid || '): ' || u.command from scheduler.unplannable_cron_jobs() u
                     except select j from pg_catalog.unnest(v_broken) j);
      if v_now <> '{}'::text[] then
        raise exception using errcode = 'SC101', message = pg_catalog.array_to_string(v_now, ', ');
      end if;
    exception
      when dependent_objects_still_exist then
        raise notice '% is kept: %', v_sig, sqlerrm;
      when sqlstate 'SC101' then
        raise notice '% is kept: cron job % calls it. Change the job to the current signature (select cron.alter_job(<jobid>, command := ''...'')), then: drop function %;',
          v_sig, sqlerrm, v_sig;
    end;
  end loop;
end
$$;
