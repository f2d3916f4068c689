package verify

import (
	"context"
	"fmt"
	"strings"
)

// foreignNetTriggers lists the triggers on pg_net's tables other than the scheduler's guards
// (scheduler.foreign_net_trigger_list, the watchdog's foreign_trigger), each with its table, function and
// the table's owner. While one is there scheduler.invoke() refuses to queue: nothing runs, and only that
// owner can drop it. A database migrated before the list existed has none to show.
func foreignNetTriggers(ctx context.Context, q querier) ([]string, error) {
	var has bool
	if err := q.QueryRow(ctx, `select to_regprocedure('scheduler.foreign_net_trigger_list()') is not null`).Scan(&has); err != nil || !has {
		return nil, err
	}
	rows, err := q.Query(ctx, `select trigger_name, table_name, function_name, owner from scheduler.foreign_net_trigger_list()`)
	if err != nil {
		return nil, fmt.Errorf("reading the triggers on pg_net's tables: %w", err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var trig, table, fn, owner string
		if err := rows.Scan(&trig, &table, &fn, &owner); err != nil {
			return nil, err
		}
		found = append(found, fmt.Sprintf("%s on %s (function %s; %s owns the table)", trig, table, fn, owner))
	}
	return found, rows.Err()
}

// foreignTriggerProblem is check 2's failure for the triggers foreignNetTriggers found, "" for none.
func foreignTriggerProblem(found []string) string {
	if len(found) == 0 {
		return ""
	}
	return fmt.Sprintf("pg_net's tables carry a trigger the scheduler does not expect: %s; scheduler.invoke() refuses to queue "+
		"while it is there, so nothing runs. Neither postgres nor the function role can drop it: ask the owner of schema net "+
		"(on hosted Supabase the platform's support) to drop it (docs/operations.md, foreign_trigger)", strings.Join(found, "; "))
}
