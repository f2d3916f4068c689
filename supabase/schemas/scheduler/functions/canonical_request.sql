-- Function scheduler.canonical_request, current definition. Edit here, then `go tool task sql:migration -- NAME` (docs/architecture.md).

CREATE OR REPLACE FUNCTION scheduler.canonical_request(p_timestamp text, p_nonce text, p_method text, p_path text, p_body jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $_$
declare
  v_body      jsonb := coalesce(p_body, '{}'::jsonb);
  v_key       text;
  v_type      text;
  v_scenarios text := '';
  v_shard     text;
  v_slot      text;  -- [local time]
begin
  if pg_catalog.jsonb_typeof(v_body) <> 'object' then
    raise exception 'canonical_request: the body must be a JSON object' using errcode = '22023';
  end if;
  for v_key in select pg_catalog.jsonb_object_keys(v_body) loop
    if v_key not in ('evaluation_date', 'scenarios', 'dry_run', 'deliver_only', 'trigger', 'job', 'caller', 'shard',
                     'slot') then  -- [local time]
      raise exception 'canonical_request: body field % is not covered by the signature',
        pg_catalog.quote_literal(pg_catalog.left(v_key, 32)) using errcode = '22023';
    end if;
    v_type := case when v_key in ('dry_run', 'deliver_only') then 'boolean'
                   when v_key = 'scenarios' then 'array'
                   else 'string' end;
    if pg_catalog.jsonb_typeof(v_body -> v_key) <> v_type then
      raise exception 'canonical_request: body field % has the wrong type', v_key using errcode = '22023';
    end if;
  end loop;
  if v_body ? 'scenarios' then
    if exists (select 1 from pg_catalog.jsonb_array_elements(v_body -> 'scenarios') e
               where pg_catalog.jsonb_typeof(e) <> 'string') then
      raise exception 'canonical_request: scenarios must be an array of strings' using errcode = '22023';
    end if;
    select coalesce(pg_catalog.string_agg(e, ',' order by i), '') into v_scenarios
    from pg_catalog.jsonb_array_elements_text(v_body -> 'scenarios') with ordinality as t(e, i);
  end if;
  -- [sharded fan-out] "k/N" as the function accepts it (engine.ParseShard): no leading zeros, 1 <= k <= N <= 64.
  if v_body ? 'shard' then
    v_shard := v_body ->> 'shard';
    if v_shard !~ '^[1-9][0-9]?/[1-9][0-9]?$'
       or pg_catalog.split_part(v_shard, '/', 1)::integer > pg_catalog.split_part(v_shard, '/', 2)::integer
       or pg_catalog.split_part(v_shard, '/', 2)::integer > 64 then
      raise exception 'canonical_request: shard must be "k/N" with 1 <= k <= N <= 64' using errcode = '22023';
    end if;
    if v_body -> 'deliver_only' = 'true'::jsonb then
      raise exception 'canonical_request: shard is only valid for an evaluation, not with deliver_only' using errcode = '22023';
    end if;
  end if;
  -- [local time] "<zone>@<HH>" as the function accepts it (engine.ParseSlot), only for an evaluation.
  if v_body ? 'slot' then
    v_slot := v_body ->> 'slot';
    if v_slot = '' or not scheduler.slot_form(v_slot) then
      raise exception 'canonical_request: slot must be "<time zone>@<HH>"' using errcode = '22023';
    end if;
    if v_body -> 'deliver_only' = 'true'::jsonb then
      raise exception 'canonical_request: slot is only valid for an evaluation, not with deliver_only' using errcode = '22023';
    end if;
  end if;
  return pg_catalog.array_to_string(array[
    'v2',
    coalesce(p_timestamp, ''),
    coalesce(p_nonce, ''),
    pg_catalog.upper(coalesce(p_method, '')),
    coalesce(nullif(p_path, ''), '/'),
    'deliver_only=' || case when v_body -> 'deliver_only' = 'true'::jsonb then 'true' else 'false' end,
    'dry_run=' || case when v_body -> 'dry_run' = 'true'::jsonb then 'true' else 'false' end,
    'evaluation_date=' || coalesce(v_body ->> 'evaluation_date', ''),
    'job=' || coalesce(v_body ->> 'job', ''),
    'scenarios=' || v_scenarios,
    'trigger=' || coalesce(v_body ->> 'trigger', ''),
    'caller=' || coalesce(v_body ->> 'caller', '')]
    -- [sharded fan-out] one more line, only when the body names a shard: an unsharded request is signed as before.
    || case when v_shard is not null then array['shard=' || v_shard] else '{}'::text[] end
    -- [local time] and one more, only when the body names a slot: a request without one is signed as before.
    || case when v_slot is not null then array['slot=' || v_slot] else '{}'::text[] end, E'\n');
end
$_$;

COMMENT ON FUNCTION scheduler.canonical_request(p_timestamp text, p_nonce text, p_method text, p_path text, p_body jsonb) IS 'The text a v2 request signature covers: timestamp, nonce, method, path, every body field that changes behaviour, and the shard and slot when there are.';

REVOKE ALL ON FUNCTION scheduler.canonical_request(p_timestamp text, p_nonce text, p_method text, p_path text, p_body jsonb) FROM PUBLIC;
