package control

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlite"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

const keyTestRegion = "eu-west-1"

var keyTestStart = time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)

// Key values used by the import tests (20+ printable characters).
const (
	valA = "aaaaaaaaaaaaaaaaaaaa-A"
	valB = "bbbbbbbbbbbbbbbbbbbb-B"
	valC = "cccccccccccccccccccc-C"
)

// keyFixture is a Service over a fresh SQLite store with a movable clock and three plans stored
// directly: pa (stage api1:dev), pb (api1:prod) and pc (api1:dev again, so pa and pc clash).
type keyFixture struct {
	t   testing.TB
	svc *Service
	st  store.Store
	now time.Time
}

func newKeyFixture(t testing.TB) *keyFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "keys.db"), storetest.Keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &keyFixture{t: t, st: st, now: keyTestStart}
	f.svc = New(st, Config{AccountID: "123456789012", AccountThrottle: apigw.Throttle{BurstLimit: 5000, RateLimit: 10000}},
		func() time.Time { return f.now })
	f.tx(func(tx store.Tx) error {
		for _, p := range []*apigw.UsagePlan{
			{ID: "pa", Name: "a", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "dev"}}},
			{ID: "pb", Name: "b", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "prod"}}},
			{ID: "pc", Name: "c", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "dev"}}},
		} {
			if err := tx.PutUsagePlan(p); err != nil {
				return err
			}
		}
		return nil
	})
	return f
}

func (f *keyFixture) tx(fn func(tx store.Tx) error) {
	f.t.Helper()
	if err := f.st.Update(context.Background(), keyTestRegion, fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *keyFixture) create(in CreateApiKeyInput) *apigw.ApiKey {
	f.t.Helper()
	k, err := f.svc.CreateApiKey(context.Background(), keyTestRegion, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

func (f *keyFixture) importCSV(csv string, failOnWarnings bool) (*ImportApiKeysResult, error) {
	return f.svc.ImportApiKeys(context.Background(), keyTestRegion, ImportApiKeysInput{Format: "csv", FailOnWarnings: failOnWarnings, Body: []byte(csv)})
}

// byValue returns the stored key with that value, nil if none.
func (f *keyFixture) byValue(v string) *apigw.ApiKey {
	f.t.Helper()
	var k *apigw.ApiKey
	err := f.st.View(context.Background(), keyTestRegion, func(tx store.Tx) error {
		var err error
		k, err = tx.GetApiKeyByValue(v)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

// plansOf returns the sorted plan ids of a key.
func (f *keyFixture) plansOf(keyID string) []string {
	f.t.Helper()
	var ids []string
	err := f.st.View(context.Background(), keyTestRegion, func(tx store.Tx) error {
		var err error
		ids, err = tx.PlanIDsOfKey(keyID)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

func (f *keyFixture) countKeys() int {
	f.t.Helper()
	pg, err := f.svc.GetApiKeys(context.Background(), keyTestRegion, store.ApiKeyFilter{}, "", 500)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(pg.Items)
}

// checkErr asserts an *apigw.Error of the given kind and exact message.
func checkErr(t testing.TB, err error, kind apigw.Kind, msg string) {
	t.Helper()
	var e *apigw.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Message != msg {
		t.Fatalf("got error %v, want kind %v %q", err, kind, msg)
	}
}

func TestImportNewKeys(t *testing.T) {
	f := newKeyFixture(t)
	res, err := f.importCSV("\uFEFFName,Key,Description,Enabled,UsagePlanIds\r\n"+
		"alpha,"+valA+",first,FALSE,pa\r\n"+
		"\r\n"+
		"beta,"+valB+",,,'pa,pb'\r\n"+
		"gamma,"+valC+"\r\n", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs) != 3 || len(res.Warnings) != 0 {
		t.Fatalf("result %+v", res)
	}
	for i, want := range []struct {
		value, name, desc string
		enabled           bool
		plans             []string
	}{
		{valA, "alpha", "first", false, []string{"pa"}},
		{valB, "beta", "", true, []string{"pa", "pb"}},
		{valC, "gamma", "", true, nil},
	} {
		k := f.byValue(want.value)
		if k == nil || k.ID != res.IDs[i] || len(k.ID) != apigw.ApiKeyIDLen {
			t.Fatalf("row %d: key %+v, ids %v", i, k, res.IDs)
		}
		if k.Name != want.name || k.Description != want.desc || k.Enabled != want.enabled ||
			!k.CreatedDate.Equal(keyTestStart) || !k.LastUpdatedDate.Equal(keyTestStart) {
			t.Errorf("row %d: stored %+v", i, k)
		}
		if got := f.plansOf(k.ID); !slices.Equal(got, want.plans) {
			t.Errorf("row %d: plans %v, want %v", i, got, want.plans)
		}
	}
}

func TestImportOverwritesExistingValue(t *testing.T) {
	f := newKeyFixture(t)
	old := f.create(CreateApiKeyInput{Name: "old", Description: "old desc", Value: valA, Enabled: true, CustomerID: "cust",
		Tags: map[string]string{"k": "v"}})
	f.tx(func(tx store.Tx) error { return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "pa", KeyID: old.ID}) })
	f.now = keyTestStart.Add(time.Hour)
	// pa is already a plan of the key (no conflict with itself, no duplicate association).
	res, err := f.importCSV("key,name,description,enabled,usageplanids\n"+valA+",new,new desc,false,\"pa,pb\"\n", false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.IDs, []string{old.ID}) || res.Warnings != nil {
		t.Fatalf("result %+v, want ids [%s]", res, old.ID)
	}
	k := f.byValue(valA)
	if k.ID != old.ID || k.Name != "new" || k.Description != "new desc" || k.Enabled {
		t.Errorf("overwritten key %+v", k)
	}
	if k.CustomerID != "cust" || k.Tags["k"] != "v" || !k.CreatedDate.Equal(keyTestStart) || !k.LastUpdatedDate.Equal(f.now) {
		t.Errorf("overwrite must keep customerId, tags and createdDate and bump lastUpdatedDate: %+v", k)
	}
	if got := f.plansOf(k.ID); !slices.Equal(got, []string{"pa", "pb"}) {
		t.Errorf("plans %v", got)
	}
	if n := f.countKeys(); n != 1 {
		t.Errorf("%d keys, want 1", n)
	}
}

// TestImportWhileABatchIsInFlight: batches go to the store while the next rows are read. A row of
// the first batch whose value exists takes the general path once its batch is back; a later row
// that names a plan for the first time reads it from the store meanwhile, and keeps its own plans.
func TestImportWhileABatchIsInFlight(t *testing.T) {
	f := newKeyFixture(t)
	old := f.create(CreateApiKeyInput{Name: "old", Value: valA, Enabled: true})
	var csv strings.Builder
	csv.WriteString("Name,Key,UsagePlanIds\n")
	value := func(i int) string { return fmt.Sprintf("batch-value-%06d-xxxxxxxx", i) }
	for i := range importBatch + 10 {
		switch {
		case i == 5:
			csv.WriteString("five," + valA + ",pa\n") // exists: the general path, after its batch
		case i == importBatch+3:
			fmt.Fprintf(&csv, "late,%s,pb\n", value(i)) // pb appears first here
		default:
			fmt.Fprintf(&csv, "k%d,%s,pa\n", i, value(i))
		}
	}
	res, err := f.importCSV(csv.String(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs) != importBatch+10 || res.IDs[5] != old.ID {
		t.Fatalf("%d ids, row 5 got %s; want %d, the existing key %s", len(res.IDs), res.IDs[5], importBatch+10, old.ID)
	}
	if k := f.byValue(valA); k.Name != "five" || !slices.Equal(f.plansOf(k.ID), []string{"pa"}) {
		t.Errorf("the existing key: %+v in %v", k, f.plansOf(k.ID))
	}
	late := f.byValue(value(importBatch + 3))
	if late == nil || late.ID != res.IDs[importBatch+3] || !slices.Equal(f.plansOf(late.ID), []string{"pb"}) {
		t.Fatalf("the row after the first batch: %+v in %v, want it in [pb] alone", late, f.plansOf(res.IDs[importBatch+3]))
	}
	if got := f.plansOf(res.IDs[importBatch+9]); !slices.Equal(got, []string{"pa"}) {
		t.Errorf("the last row's plans: %v", got)
	}
}

func TestImportSameValueTwiceInOneFile(t *testing.T) {
	f := newKeyFixture(t)
	res, err := f.importCSV("Name,Key\nfirst,"+valA+"\nsecond,"+valA+"\n", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs) != 2 || res.IDs[0] != res.IDs[1] {
		t.Fatalf("ids %v: the second row must overwrite the first", res.IDs)
	}
	if k := f.byValue(valA); k.Name != "second" {
		t.Errorf("name %q", k.Name)
	}
}

// TestImportRepeatedValueSeesEarlierPlans checks that a later row with the same value is checked
// against the plans earlier rows of the same file gave the key.
func TestImportRepeatedValueSeesEarlierPlans(t *testing.T) {
	f := newKeyFixture(t)
	res, err := f.importCSV("Name,Key,UsagePlanIds\n"+
		"one,"+valA+",pa\n"+ // line 2
		"two,"+valA+",pc\n"+ // line 3: pc shares api1:dev with pa
		"three,"+valA+",'pa,pb'\n", false) // line 4: pa again is fine, pb is new
	if err != nil {
		t.Fatal(err)
	}
	k := f.byValue(valA)
	want := "Line 3: API Key " + k.ID + " cannot be associated with usage plan pc because it is already associated with usage plan pa for stage api1:dev"
	if !slices.Equal(res.Warnings, []string{want}) || !slices.Equal(res.IDs, []string{k.ID, k.ID}) {
		t.Fatalf("result %+v, want ids [%s %s] and warning %q", res, k.ID, k.ID, want)
	}
	if k.Name != "three" || !slices.Equal(f.plansOf(k.ID), []string{"pa", "pb"}) {
		t.Fatalf("key %+v plans %v", k, f.plansOf(k.ID))
	}
}

func TestImportWarnings(t *testing.T) {
	conflict := func(key, plan, other string) string {
		return "API Key " + key + " cannot be associated with usage plan " + plan +
			" because it is already associated with usage plan " + other + " for stage api1:dev"
	}
	f := newKeyFixture(t)
	existing := f.create(CreateApiKeyInput{Name: "existing", Value: valC})
	f.tx(func(tx store.Tx) error {
		return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "pa", KeyID: existing.ID})
	})
	csv := "Name,Key,UsagePlanIds\r\n" +
		"ok," + valA + ",pb\r\n" + // line 2: imported
		"short,tooshort\r\n" + // line 3
		"\r\n" +
		"unknown," + valB + ",\"pb,nope\"\r\n" + // line 5: unknown plan, nothing written
		"renamed," + valC + ",pc\r\n" + // line 6: existing key in pa, pc shares api1:dev
		"'unterminated," + valB + "\r\n" // line 7
	res, err := f.importCSV(csv, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Line 3: API Key value should be at least 20 characters",
		"Line 5: Invalid Usage Plan ID specified: nope",
		"Line 6: " + conflict(existing.ID, "pc", "pa"),
		"Line 7: Unterminated quoted field",
	}
	if !slices.Equal(res.Warnings, want) {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(res.Warnings, "\n"), strings.Join(want, "\n"))
	}
	if len(res.IDs) != 1 || f.byValue(valA).ID != res.IDs[0] {
		t.Fatalf("ids %v", res.IDs)
	}
	if f.byValue(valB) != nil {
		t.Error("a row with an unknown plan must not create its key")
	}
	if k := f.byValue(valC); k.Name != "existing" || !slices.Equal(f.plansOf(k.ID), []string{"pa"}) {
		t.Errorf("a conflicting row must leave the existing key alone: %+v plans %v", k, f.plansOf(k.ID))
	}
}

func TestImportConflictWithinOneRow(t *testing.T) {
	f := newKeyFixture(t)
	res, err := f.importCSV("Name,Key,UsagePlanIds\nboth,"+valA+",\"pa,pc\"\n", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs) != 0 || len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "Line 2: API Key ") ||
		!strings.HasSuffix(res.Warnings[0], " cannot be associated with usage plan pc because it is already associated with usage plan pa for stage api1:dev") {
		t.Fatalf("result %+v", res)
	}
	if f.byValue(valA) != nil {
		t.Error("the row must not be imported at all")
	}
}

func TestImportFailOnWarningsRollsBack(t *testing.T) {
	f := newKeyFixture(t)
	before := f.create(CreateApiKeyInput{Name: "before", Value: valC})
	csv := "Name,Key\nfine," + valA + "\nrenamed," + valC + "\nbad,short\nalso bad,x\n"
	_, err := f.importCSV(csv, true)
	checkErr(t, err, apigw.KindBadRequest, "API keys were not imported because of warnings (failonwarnings=true): "+
		"Line 4: API Key value should be at least 20 characters; Line 5: API Key value should be at least 20 characters")
	if f.byValue(valA) != nil || f.byValue(valC).Name != "before" || f.countKeys() != 1 {
		t.Fatal("failonwarnings=true must import nothing")
	}
	// The same file without the bad rows imports with failonwarnings=true.
	res, err := f.importCSV("Name,Key\nfine,"+valA+"\nrenamed,"+valC+"\n", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs) != 2 || res.IDs[1] != before.ID || f.byValue(valC).Name != "renamed" {
		t.Fatalf("result %+v", res)
	}
}

func TestImportFailOnWarningsMessageIsCapped(t *testing.T) {
	f := newKeyFixture(t)
	var b strings.Builder
	b.WriteString("Name,Key\n")
	for range 105 {
		b.WriteString("n,short\n")
	}
	_, err := f.importCSV(b.String(), true)
	if err == nil || !strings.HasSuffix(err.Error(), "; Line 101: API Key value should be at least 20 characters; and 5 more") {
		t.Fatalf("error %v", err)
	}
}

func TestImportRequestErrors(t *testing.T) {
	f := newKeyFixture(t)
	tests := []struct {
		name, format, body, want string
	}{
		{"format missing", "", "Name,Key\n", "Invalid format specified: ''. Must be one of: [csv]"},
		{"format json", "json", "Name,Key\n", "Invalid format specified: 'json'. Must be one of: [csv]"},
		{"no key column", "csv", "Name,Value\nn," + valA + "\n", "Missing required column 'Key'"},
		{"no name column", "csv", "Key\n" + valA + "\n", "Missing required column 'Name'"},
		{"empty body", "csv", "", "Missing required column 'Key'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.ImportApiKeys(context.Background(), keyTestRegion, ImportApiKeysInput{Format: tc.format, Body: []byte(tc.body)})
			checkErr(t, err, apigw.KindBadRequest, tc.want)
		})
	}
	res, err := f.svc.ImportApiKeys(context.Background(), keyTestRegion, ImportApiKeysInput{Format: "CSV", Body: []byte("Name,Key\n")})
	if err != nil || res.IDs == nil || len(res.IDs) != 0 {
		t.Fatalf("header-only file: %+v %v (want ids [])", res, err)
	}
}

func TestKeyPlanStageConflict(t *testing.T) {
	pa := &apigw.UsagePlan{ID: "pa", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "dev"}, {ApiID: "api2", Stage: "dev"}}}
	pb := &apigw.UsagePlan{ID: "pb", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "prod"}}}
	pc := &apigw.UsagePlan{ID: "pc", ApiStages: []apigw.ApiStage{{ApiID: "api2", Stage: "dev"}}}
	tests := []struct {
		name   string
		plan   *apigw.UsagePlan
		others []*apigw.UsagePlan
		want   string
	}{
		{"no other plans", pa, nil, ""},
		{"disjoint stages", pb, []*apigw.UsagePlan{pa, pc}, ""},
		{"same plan is not a conflict", pa, []*apigw.UsagePlan{pa}, ""},
		{"shared stage", pc, []*apigw.UsagePlan{pb, pa}, "API Key k1 cannot be associated with usage plan pc because it is already associated with usage plan pa for stage api2:dev"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := KeyPlanStageConflict("k1", tc.plan, tc.others)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkErr(t, err, apigw.KindConflict, tc.want)
		})
	}
}

// BenchmarkImportApiKeys100k imports 100,000 new keys in one request, without plans and with
// each key put into two plans.
func BenchmarkImportApiKeys100k(b *testing.B) {
	for _, bc := range []struct{ name, plans string }{{"plans=0", ""}, {"plans=2", `"pa,pb"`}} {
		var sb strings.Builder
		sb.WriteString("Name,Key,Description,Enabled,UsagePlanIds\n")
		for i := range 100000 {
			fmt.Fprintf(&sb, "key-%d,value-%030d,imported,true,%s\n", i, i, bc.plans)
		}
		body := []byte(sb.String())
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				f := newKeyFixture(b)
				b.StartTimer()
				res, err := f.svc.ImportApiKeys(context.Background(), keyTestRegion, ImportApiKeysInput{Format: "csv", Body: body})
				if err != nil || len(res.IDs) != 100000 || len(res.Warnings) != 0 {
					b.Fatalf("%v %d %v", err, len(res.IDs), res.Warnings)
				}
			}
		})
	}
}

// BenchmarkGetApiKeysPaging100k pages through 100,000 keys, 500 at a time (the maximum limit).
func BenchmarkGetApiKeysPaging100k(b *testing.B) {
	f := newKeyFixture(b)
	var sb strings.Builder
	sb.WriteString("Name,Key\n")
	for i := range 100000 {
		fmt.Fprintf(&sb, "key-%d,value-%030d\n", i, i)
	}
	if _, err := f.importCSV(sb.String(), true); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n, cursor := 0, ""
		for {
			pg, err := f.svc.GetApiKeys(context.Background(), keyTestRegion, store.ApiKeyFilter{}, cursor, 500)
			if err != nil {
				b.Fatal(err)
			}
			n += len(pg.Items)
			if cursor = pg.Next; cursor == "" {
				break
			}
		}
		if n != 100000 {
			b.Fatal(n)
		}
	}
}

// New keys go to the store in batches: a row repeating the value of a row in an earlier batch
// still overwrites it, and the ids keep the file's order.
func TestImportAcrossBatches(t *testing.T) {
	f := newKeyFixture(t)
	var b strings.Builder
	b.WriteString("Name,Key,UsagePlanIds\n")
	value := func(i int) string { return fmt.Sprintf("batch-value-%06d-abcdefgh", i) }
	const rows = 2*importBatch + 88
	for i := range rows {
		v, name := value(i), fmt.Sprint("k", i)
		if i == importBatch+100 {
			v, name = value(10), "renamed" // the value of row 10, flushed in the first batch
		}
		fmt.Fprintf(&b, "%s,%s,pa\n", name, v)
	}
	res, err := f.importCSV(b.String(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs) != rows || res.IDs[importBatch+100] != res.IDs[10] {
		t.Fatalf("%d ids; row %d got %s, row 10 %s", len(res.IDs), importBatch+100, res.IDs[importBatch+100], res.IDs[10])
	}
	for _, i := range []int{0, importBatch - 1, importBatch, rows - 1} {
		if k := f.byValue(value(i)); k == nil || k.ID != res.IDs[i] || k.Name != fmt.Sprint("k", i) || !slices.Equal(f.plansOf(k.ID), []string{"pa"}) {
			t.Errorf("row %d: key %+v, id in result %s", i, k, res.IDs[i])
		}
	}
	if k := f.byValue(value(10)); k.Name != "renamed" {
		t.Errorf("row 10's key is named %q, want the later row's name", k.Name)
	}
}
