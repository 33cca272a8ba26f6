package awswire

import (
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Every domain error kind must have a wire type and a status: a kind added without a row would
// otherwise surface as a 500.
func TestErrorTableComplete(t *testing.T) {
	seen := map[string]apigw.Kind{}
	for _, k := range apigw.AllKinds {
		row, ok := errorTable[k]
		if !ok {
			t.Errorf("kind %d has no row in the error table", k)
			continue
		}
		if row.Code == "" || row.Status < 400 || row.Status > 599 {
			t.Errorf("kind %d: bad row %+v", k, row)
		}
		if other, dup := seen[row.Code]; dup {
			t.Errorf("kinds %d and %d share code %s", k, other, row.Code)
		}
		seen[row.Code] = k
	}
	if len(errorTable) != len(apigw.AllKinds) {
		t.Errorf("table has %d rows, AllKinds %d", len(errorTable), len(apigw.AllKinds))
	}
}
