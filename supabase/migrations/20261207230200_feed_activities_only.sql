-- The change feed tells a change of activities alone from any other (a certification, the mentor's status,
-- organisation or start date): activities do not move the certification rule, so the incremental run does not
-- evaluate certification expiry for a mentor whose only change was an activity (41,041 evaluations of 134,589
-- at 1M, the benchmark's day). Written by scheduler.note_mentor_change (next migration).
alter table scheduler.mentor_changes add column if not exists activities_only boolean default false not null;

comment on column scheduler.mentor_changes.activities_only is
  'Every note since the row was last read was of activities (a note with dates): the certification rule need not evaluate the mentor.';
