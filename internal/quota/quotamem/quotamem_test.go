package quotamem_test

import (
	"testing"

	"github.com/tollgate/tollgate/internal/quota/quotamem"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

// The in-memory counters are the reference backend: they pass the same suite as SQLite.
func TestConformance(t *testing.T) {
	storetest.RunCounters(t, func(*testing.T) store.Counters { return quotamem.New() })
}
