package patch

import (
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantOps  int
		wantKind apigw.Kind
		wantMsg  string
	}{
		{"empty body", "", 0, -1, ""},
		{"empty object", "{}", 0, -1, ""},
		{"empty list", `{"patchOperations":[]}`, 0, -1, ""},
		{"one op", `{"patchOperations":[{"op":"replace","path":"/name","value":"x"}]}`, 1, -1, ""},
		{"bad op", `{"patchOperations":[{"op":"replace","path":"/a","value":"x"},{"op":"wrong","path":"/b"}]}`, 2, apigw.KindValidation,
			"1 validation error detected: Value 'wrong' at 'updateApiKeyInput.patchOperations.2.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]"},
		{"two bad ops", `{"patchOperations":[{"op":"x","path":"/a"},{"op":"y","path":"/b"}]}`, 2, apigw.KindValidation,
			"2 validation errors detected: Value 'x' at 'updateApiKeyInput.patchOperations.1.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]; Value 'y' at 'updateApiKeyInput.patchOperations.2.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]"},
		{"not json", `{"patchOperations":`, 0, apigw.KindSerialization, ""},
		{"value not a string", `{"patchOperations":[{"op":"replace","path":"/a","value":1}]}`, 0, apigw.KindSerialization, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ops, err := Decode([]byte(tc.body), "updateApiKeyInput")
			if tc.wantKind < 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if len(ops) != tc.wantOps {
					t.Fatalf("got %d ops, want %d", len(ops), tc.wantOps)
				}
				return
			}
			if err == nil || apigw.KindOf(err) != tc.wantKind {
				t.Fatalf("got %v, want kind %d", err, tc.wantKind)
			}
			if tc.wantMsg != "" && err.(*apigw.Error).Message != tc.wantMsg {
				t.Fatalf("message\n got %q\nwant %q", err.(*apigw.Error).Message, tc.wantMsg)
			}
		})
	}
}

func TestHasValue(t *testing.T) {
	ops, err := Decode([]byte(`{"patchOperations":[{"op":"replace","path":"/a"},{"op":"replace","path":"/b","value":""}]}`), "x")
	if err != nil {
		t.Fatal(err)
	}
	if ops[0].HasValue || !ops[1].HasValue {
		t.Fatalf("HasValue = %v, %v; want false, true", ops[0].HasValue, ops[1].HasValue)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{"~1pets": "/pets", "a~0b": "a~b", "~01": "~1", "plain": "plain"} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"patchOperations":[{"op":"replace","path":"/name","value":"x"}]}`))
	f.Add([]byte(`{"patchOperations":[{"op":"bogus","path":"/apiStages/a:b/throttle//x/GET/rateLimit"}]}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := Decode(body, "updateUsagePlanInput")
		if err != nil {
			k := apigw.KindOf(err)
			if k != apigw.KindValidation && k != apigw.KindSerialization {
				t.Fatalf("unexpected kind %d: %v", k, err)
			}
			return
		}
		for _, o := range ops {
			if !isValidOp(o.Op) {
				t.Fatalf("invalid op %q accepted", o.Op)
			}
		}
	})
}
