package sqlstore

// resetTables are the tables ResetAll empties, children before parents. The change log, the id
// counters, the node table and the schema version stay: other nodes follow the change log, and
// ids keep increasing, so nothing issued after a reset can be mistaken for something before it.
var resetTables = []string{"usage_days", "quota_reservations", "quota_allowances", "usage_plan_keys",
	"usage_plans", "api_keys", "stages", "deployments", "rest_apis", "accounts"}

// ResetAll deletes every region's configuration, keys, plans, usage and quota state in this
// transaction (the test-suite reset, --allow-reset), and logs one region-wide change so every
// node rebuilds its data plane.
func (t *Tx) ResetAll() error {
	t.present = nil // every row is gone
	for _, table := range resetTables {
		if _, err := t.exec("DELETE FROM " + table); err != nil {
			return err
		}
	}
	t.bulk, t.changed, t.changeLog = true, nil, nil
	return nil
}
