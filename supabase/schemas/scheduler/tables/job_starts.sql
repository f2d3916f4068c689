-- Table scheduler.job_starts, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE scheduler.job_starts (
    jobname text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL
);

COMMENT ON TABLE scheduler.job_starts IS 'When each scheduler cron job was created (scheduler.schedule_hourly records the hourly job): the watchdog expects no run before it.';

ALTER TABLE ONLY scheduler.job_starts
    ADD CONSTRAINT job_starts_pkey PRIMARY KEY (jobname);
