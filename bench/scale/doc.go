// Package scale holds the scale benchmarks of issue 4: loading 1,000,000 API keys from the
// embedded SQLite store into a data-plane snapshot, importing 100,000 keys through the real
// binary's management API, and GetUsage over 1,000 keys × 90 days. They are benchmarks rather
// than tests because each run populates a large store; run them once each:
//
//	go test ./bench/scale -run '^$' -bench . -benchtime 1x -timeout 20m
//
// TOLLGATE_SCALE_KEYS and TOLLGATE_SCALE_IMPORT shrink the key counts for a quick check.
package scale
