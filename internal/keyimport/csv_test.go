package keyimport

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

const (
	k1 = "abcdefghij0123456789"     // 20 characters, the minimum
	k2 = "ABCDEFGHIJ0123456789-xyz" // hyphens are accepted (§13 A15)
)

// got is a comparable summary of a parsed row.
type got struct {
	Line    int
	Name    string
	Key     string
	Desc    string
	Enabled bool
	Plans   string
	Problem string
}

func parseAll(t testing.TB, text string) ([]got, error) {
	t.Helper()
	r, err := NewReader([]byte(text))
	if err != nil {
		return nil, err
	}
	var out []got
	var row Row
	for r.Next(&row) {
		out = append(out, got{row.Line, row.Name, row.Key, row.Description, row.Enabled, strings.Join(row.PlanIDs, "|"), row.Problem})
	}
	return out, nil
}

func TestHeaderErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"empty file", "", "Missing required column 'Key'"},
		{"blank lines only", "\n  \r\n", "Missing required column 'Key'"},
		{"no key column", "Name,Description\nn,d\n", "Missing required column 'Key'"},
		{"no name column", "key,description\n" + k1 + ",d\n", "Missing required column 'Name'"},
		{"neither", "foo,bar\n", "Missing required column 'Key'"},
		{"name as a value, not a header", "Key\nName\n", "Missing required column 'Name'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader([]byte(tc.text))
			if err == nil || apigw.KindOf(err) != apigw.KindBadRequest || err.Error() != tc.want {
				t.Fatalf("err = %v, want BadRequest %q", err, tc.want)
			}
		})
	}
}

func TestRows(t *testing.T) {
	long := strings.Repeat("n", 1025)
	tests := []struct {
		name string
		text string
		want []got
	}{
		{"minimal", "Name,Key\nalpha," + k1 + "\n",
			[]got{{2, "alpha", k1, "", true, "", ""}}},
		{"headers in any order and case, trimmed, unknown ignored",
			" KEY , extra,name ,DESCRIPTION,eNaBlEd , UsagePlanIds\n" + k1 + ",x,alpha,first,FALSE,p1\n",
			[]got{{2, "alpha", k1, "first", false, "p1", ""}}},
		{"dev-guide example with spaces after commas",
			"key,name, description, enabled, usageplanIds\n" + k1 + ", importedKey_1, firstone, tRuE, \"c7y23b,glvrsr\"\n",
			[]got{{2, "importedKey_1", k1, "firstone", true, "c7y23b|glvrsr", ""}}},
		{"single-quoted plan ids", "name,key,usageplanids\na," + k1 + ",'c7y23b, glvrsr ,c7y23b'\n",
			[]got{{2, "a", k1, "", true, "c7y23b|glvrsr", ""}}},
		{"BOM and CRLF", "\uFEFFName,Key\r\na," + k1 + "\r\nb," + k2 + "\r\n",
			[]got{{2, "a", k1, "", true, "", ""}, {3, "b", k2, "", true, "", ""}}},
		{"bare CR line endings", "Name,Key\ra," + k1 + "\rb," + k2,
			[]got{{2, "a", k1, "", true, "", ""}, {3, "b", k2, "", true, "", ""}}},
		{"blank and empty-field lines skipped, lines still counted", "\nName,Key\n\n  \n,\na," + k1 + "\n\n",
			[]got{{6, "a", k1, "", true, "", ""}}},
		{"no trailing newline", "Name,Key\na," + k1,
			[]got{{2, "a", k1, "", true, "", ""}}},
		{"short and long records", "Name,Key,Description\na," + k1 + "\nb," + k2 + ",d,extra,more\n",
			[]got{{2, "a", k1, "", true, "", ""}, {3, "b", k2, "d", true, "", ""}}},
		{"doubled quotes and multi-line description", "Name,Key,Description\n\"a \"\"q\"\"\"," + k1 + ",\"l1\r\nl2\nl3\"\nb," + k2 + ",'it''s'\n",
			[]got{{2, `a "q"`, k1, "l1\r\nl2\nl3", true, "", ""}, {5, "b", k2, "it's", true, "", ""}}},
		{"quoted content keeps inner spaces", "Name,Key\n\"  a  \"," + k1 + "\n",
			[]got{{2, "  a  ", k1, "", true, "", ""}}},
		{"enabled values", "Name,Key,Enabled\na," + k1 + ",\nb," + k1 + ",False\nc," + k1 + ",yes\n",
			[]got{{2, "a", k1, "", true, "", ""}, {3, "b", k1, "", false, "", ""},
				{4, "", "", "", false, "", "Invalid value 'yes' for column 'Enabled', must be true or false"}}},
		{"field problems in CreateApiKey order", "Name,Key,Description\n" +
			long + ",short\n" +
			"a,short\n" +
			"a," + strings.Repeat("k", 129) + "\n" +
			"a,has space in the value 123\n" +
			"a," + k1 + "," + strings.Repeat("d", 125001) + "\n" +
			"," + k1 + "\n" +
			"a,\n",
			[]got{
				{2, "", "", "", false, "", MsgNameTooLong},
				{3, "", "", "", false, "", MsgValueTooShort},
				{4, "", "", "", false, "", MsgValueTooLong},
				{5, "", "", "", false, "", MsgValueInvalidChars},
				{6, "", "", "", false, "", MsgDescription},
				{7, "", "", "", false, "", "Missing value for required column 'Name'"},
				{8, "", "", "", false, "", "Missing value for required column 'Key'"},
			}},
		{"malformed records skip only their line", "Name,Key\n'a," + k1 + "\n\"a\"x," + k1 + "\nb," + k2 + "\n\"open," + k1 + "\n",
			[]got{
				{2, "", "", "", false, "", "Unterminated quoted field"},
				{3, "", "", "", false, "", "Unexpected text after a quoted field"},
				{4, "b", k2, "", true, "", ""},
				{5, "", "", "", false, "", "Unterminated quoted field"},
			}},
		{"name of 1024 multi-byte characters is fine", "Name,Key\n" + strings.Repeat("é", 1024) + "," + k1 + "\n",
			[]got{{2, strings.Repeat("é", 1024), k1, "", true, "", ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := parseAll(t, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			// Only the line and the problem of a rejected row matter.
			for i := range rows {
				if rows[i].Problem != "" {
					rows[i] = got{Line: rows[i].Line, Problem: rows[i].Problem}
				}
			}
			if !reflect.DeepEqual(rows, tc.want) {
				t.Fatalf("rows:\n got %+v\nwant %+v", rows, tc.want)
			}
		})
	}
}

func TestWarning(t *testing.T) {
	if got := Warning(12, MsgValueTooShort); got != "Line 12: API Key value should be at least 20 characters" {
		t.Fatal(got)
	}
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"name ok", CheckName(strings.Repeat("n", 1024)), ""},
		{"name long", CheckName(strings.Repeat("n", 1025)), MsgNameTooLong},
		{"value 20", CheckValue(k1), ""},
		{"value 128", CheckValue(strings.Repeat("v", 128)), ""},
		{"value 19", CheckValue(k1[1:]), MsgValueTooShort},
		{"value 129", CheckValue(strings.Repeat("v", 129)), MsgValueTooLong},
		{"value tab", CheckValue(k1 + "\t"), MsgValueInvalidChars},
		{"value non-ascii", CheckValue(k1 + "é"), MsgValueInvalidChars},
		{"description ok", CheckDescription(strings.Repeat("d", 125000)), ""},
		{"description long", CheckDescription(strings.Repeat("d", 125001)), MsgDescription},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				if tc.err != nil {
					t.Fatalf("unexpected %v", tc.err)
				}
				return
			}
			if tc.err == nil || tc.err.Error() != tc.want || apigw.KindOf(tc.err) != apigw.KindBadRequest {
				t.Fatalf("got %v, want %q", tc.err, tc.want)
			}
		})
	}
}

// FuzzParse checks that the reader never panics, that every accepted row satisfies the field
// rules CreateApiKey applies, and that line numbers never go backwards.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Name,Key\na," + k1 + "\n",
		"\uFEFFkey,name, description, enabled, usageplanIds\r\n" + k1 + ", n, d, tRuE, \"c7y23b,glvrsr\"\r\n",
		"name,key,usageplanids\na," + k1 + ",'p1,p2'\n\"x\"\"y\"," + k2 + ",\"p3\np4\"\n",
		"Name,Key\n'open\n\"open",
		"Name,Key\r\r\n,\n a , b \n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(data)
		if err != nil {
			return
		}
		var row Row
		last := 0
		for r.Next(&row) {
			if row.Line <= last {
				t.Fatalf("line %d after line %d", row.Line, last)
			}
			last = row.Line
			if row.Problem != "" {
				continue
			}
			if row.Name == "" || row.Key == "" {
				t.Fatalf("accepted row without name or key: %+v", row)
			}
			if err := CheckName(row.Name); err != nil {
				t.Fatalf("accepted row %+v: %v", row, err)
			}
			if err := CheckValue(row.Key); err != nil {
				t.Fatalf("accepted row %+v: %v", row, err)
			}
			if err := CheckDescription(row.Description); err != nil {
				t.Fatalf("accepted row %+v: %v", row, err)
			}
			for _, id := range row.PlanIDs {
				if id == "" || strings.Contains(id, ",") {
					t.Fatalf("bad plan id %q", id)
				}
			}
		}
	})
}

func BenchmarkParse100k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("Name,Key,Description,Enabled,UsagePlanIds\n")
	for i := range 100000 {
		fmt.Fprintf(&sb, "key-%d,value-%030d,imported,true,\"p1,p2\"\n", i, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(data)
		if err != nil {
			b.Fatal(err)
		}
		var row Row
		n := 0
		for r.Next(&row) {
			if row.Problem != "" {
				b.Fatal(row.Problem)
			}
			n++
		}
		if n != 100000 {
			b.Fatal(n)
		}
	}
}
