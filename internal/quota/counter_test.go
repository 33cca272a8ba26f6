package quota_test

import (
	"testing"

	"github.com/tollgate/tollgate/internal/quota/quotamem"
	"github.com/tollgate/tollgate/internal/quota/quotatest"
	"github.com/tollgate/tollgate/internal/store"
)

func TestConformanceInMemory(t *testing.T) {
	quotatest.Run(t, func(*testing.T) store.Counters { return quotamem.New() })
}
