-- Table public.notifications, current definition. Edit here and write the ALTER in a migration (docs/architecture.md).

CREATE TABLE public.notifications (
    id bigint NOT NULL,
    user_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    scenario text NOT NULL,
    evaluation_date date NOT NULL,
    idempotency_key text NOT NULL,
    cooldown_period daterange,
    priority integer NOT NULL,
    data jsonb DEFAULT '{}'::jsonb NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    run_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_error_class text,
    sent_at timestamp with time zone,
    suppressed_reason text,
    available_at timestamp with time zone,
    delivery_run_id uuid,
    lease_until timestamp with time zone,
    push_date date,
    CONSTRAINT notifications_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'sent'::text, 'failed'::text, 'suppressed'::text]))),
    CONSTRAINT notifications_suppressed_reason CHECK (((suppressed_reason IS NULL) OR (suppressed_reason = ANY (ARRAY['daily_cap'::text, 'no_device'::text, 'expired'::text]))))
);

COMMENT ON TABLE public.notifications IS 'Notifications created by the scenario scheduler (in-app, and the push outbox).';

COMMENT ON COLUMN public.notifications.suppressed_reason IS 'Why a suppressed notification got no push (in-app only): daily_cap, no_device or expired.';

COMMENT ON COLUMN public.notifications.available_at IS 'Pending rows are not delivered before this time: the end of quiet hours, or a retry''s backoff.';

ALTER TABLE public.notifications ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.notifications_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_cooldown EXCLUDE USING gist (user_id WITH =, scenario WITH =, cooldown_period WITH &&) WHERE ((cooldown_period IS NOT NULL));

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_idempotency_key UNIQUE (idempotency_key);

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_pkey PRIMARY KEY (id);

CREATE INDEX notifications_delivery_run ON public.notifications USING btree (delivery_run_id) WHERE (delivery_run_id IS NOT NULL);

CREATE INDEX notifications_outbox ON public.notifications USING btree (user_id, priority DESC, id) WHERE (status = 'pending'::text);

CREATE INDEX notifications_outbox_order ON public.notifications USING btree (priority DESC, id) WHERE (status = 'pending'::text);

CREATE INDEX notifications_push_date ON public.notifications USING btree (user_id, push_date) WHERE (push_date IS NOT NULL);

CREATE INDEX notifications_user_scenario_date ON public.notifications USING btree (user_id, scenario, evaluation_date);

CREATE POLICY "mentors read own notifications" ON public.notifications FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

ALTER TABLE public.notifications ENABLE ROW LEVEL SECURITY;

GRANT ALL ON TABLE public.notifications TO service_role;
GRANT SELECT ON TABLE public.notifications TO authenticated;

GRANT ALL ON SEQUENCE public.notifications_id_seq TO anon;
GRANT ALL ON SEQUENCE public.notifications_id_seq TO authenticated;
GRANT ALL ON SEQUENCE public.notifications_id_seq TO service_role;
