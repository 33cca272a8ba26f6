package keyimport

import (
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Column names of the API key file format (docs: api-key-file-format), compared case-insensitively.
const (
	colName        = "name"
	colKey         = "key"
	colDescription = "description"
	colEnabled     = "enabled"
	colPlanIDs     = "usageplanids"
)

// Row is one data record of the file. A row with a non-empty Problem must not be imported; its
// warning is Warning(Line, Problem). Name, Key and Description share memory with the file text;
// PlanIDs is reused by the next call to Next (copy it to keep it).
type Row struct {
	Line        int // 1-based physical line the record starts on (the header is usually line 1)
	Name        string
	Key         string
	Description string
	Enabled     bool
	PlanIDs     []string // distinct, in file order
	Problem     string
}

// Warning formats a row problem the way ImportApiKeys reports it: "Line <n>: <reason>" (spec §13 A9).
func Warning(line int, reason string) string {
	return "Line " + strconv.Itoa(line) + ": " + reason
}

// Reader iterates over the data rows of an API key file. It reads the text in place, one record at a
// time, without building the whole table, so a 100,000-row file costs one copy of the text plus a
// few reused buffers.
//
// Dialect (spec §3.12): a header row is required, names case-insensitive, in any order, trimmed;
// unknown columns are ignored. Records end at LF, CRLF or CR; a leading UTF-8 BOM and blank lines
// are skipped. Fields are separated by commas and trimmed of spaces and tabs. A field whose first
// non-blank character is " or ' is quoted by that character until its closing twin (a doubled twin
// stands for one); double-quoted fields may span lines, single-quoted ones may not, so a stray
// apostrophe cannot swallow the rest of the file. Missing trailing fields are empty, extra ones
// are ignored.
type Reader struct {
	s    string
	pos  int
	line int // line number of s[pos]
	// column index of each known column, -1 when absent
	name, key, desc, enabled, plans int
	fields                          []string
	planBuf                         []string
}

// NewReader reads the header of data. It fails with AWS's 400 "Missing required column 'Key'"
// (or 'Name') when a required column is absent; an empty file has no columns at all.
func NewReader(data []byte) (*Reader, error) {
	s := string(data)
	s = strings.TrimPrefix(s, "\uFEFF")
	r := &Reader{s: s, line: 1, name: -1, key: -1, desc: -1, enabled: -1, plans: -1}
	header, _, _, _ := r.record()
	for i, h := range header {
		var idx *int
		switch strings.ToLower(h) {
		case colName:
			idx = &r.name
		case colKey:
			idx = &r.key
		case colDescription:
			idx = &r.desc
		case colEnabled:
			idx = &r.enabled
		case colPlanIDs:
			idx = &r.plans
		default:
			continue
		}
		if *idx < 0 { // the first of duplicate columns wins
			*idx = i
		}
	}
	switch {
	case r.key < 0:
		return nil, apigw.BadRequest("Missing required column 'Key'")
	case r.name < 0:
		return nil, apigw.BadRequest("Missing required column 'Name'")
	}
	return r, nil
}

// Next fills row with the next data record and reports whether there was one. Records whose
// fields are all empty (",,,") count as blank lines and are skipped.
func (r *Reader) Next(row *Row) bool {
	for {
		fields, line, problem, ok := r.record()
		if !ok {
			return false
		}
		if problem == "" && allEmpty(fields) {
			continue
		}
		*row = Row{Line: line, Problem: problem, PlanIDs: r.planBuf[:0]}
		if problem == "" {
			r.fill(row, fields)
			r.planBuf = row.PlanIDs
		}
		return true
	}
}

func allEmpty(fields []string) bool {
	for _, f := range fields {
		if f != "" {
			return false
		}
	}
	return true
}

func (r *Reader) field(fields []string, i int) string {
	if i < 0 || i >= len(fields) {
		return ""
	}
	return fields[i]
}

// fill copies a record's columns into row and validates them with the same rules as CreateApiKey.
// The first problem found wins, in CreateApiKey's check order: name, value, description.
func (r *Reader) fill(row *Row, fields []string) {
	row.Name = r.field(fields, r.name)
	row.Key = r.field(fields, r.key)
	row.Description = r.field(fields, r.desc)
	row.Enabled = true
	switch {
	case row.Name == "":
		row.Problem = "Missing value for required column 'Name'"
	case row.Key == "":
		row.Problem = "Missing value for required column 'Key'"
	default:
		row.Problem = nameProblem(row.Name)
		if row.Problem == "" {
			row.Problem = valueProblem(row.Key)
		}
		if row.Problem == "" {
			row.Problem = descriptionProblem(row.Description)
		}
	}
	if row.Problem != "" {
		return
	}
	switch e := r.field(fields, r.enabled); {
	case e == "" || strings.EqualFold(e, "true"):
	case strings.EqualFold(e, "false"):
		row.Enabled = false
	default:
		row.Problem = "Invalid value '" + e + "' for column 'Enabled', must be true or false"
		return
	}
	row.PlanIDs = splitPlanIDs(row.PlanIDs, r.field(fields, r.plans))
}

// splitPlanIDs appends the distinct, trimmed, non-empty comma-separated ids of v to dst.
func splitPlanIDs(dst []string, v string) []string {
	for v != "" {
		id, rest, _ := strings.Cut(v, ",")
		v = rest
		id = strings.TrimSpace(id)
		if id == "" || contains(dst, id) {
			continue
		}
		dst = append(dst, id)
	}
	return dst
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// record reads the next record after skipping blank lines: its fields (valid until the next call),
// the line it starts on, and a problem when it is malformed (the rest of that line is skipped).
// ok is false at the end of the text.
func (r *Reader) record() (fields []string, line int, problem string, ok bool) {
	r.skipBlankLines()
	if r.pos >= len(r.s) {
		return nil, 0, "", false
	}
	line = r.line
	r.fields = r.fields[:0]
	for {
		r.skipBlanks()
		var f string
		if r.pos < len(r.s) && (r.s[r.pos] == '"' || r.s[r.pos] == '\'') {
			f, problem = r.quoted()
			if problem == "" {
				r.skipBlanks()
				if r.pos < len(r.s) && !isSep(r.s[r.pos]) {
					problem = "Unexpected text after a quoted field"
				}
			}
			if problem != "" {
				r.skipLine()
				return r.fields, line, problem, true
			}
		} else {
			j := r.pos
			for j < len(r.s) && !isSep(r.s[j]) {
				j++
			}
			f = strings.TrimRight(r.s[r.pos:j], " \t")
			r.pos = j
		}
		r.fields = append(r.fields, f)
		if r.pos < len(r.s) && r.s[r.pos] == ',' {
			r.pos++
			continue
		}
		r.eol()
		return r.fields, line, "", true
	}
}

func isSep(c byte) bool { return c == ',' || c == '\n' || c == '\r' }

// quoted reads a field opened by the quote at r.pos and returns its content. The content is a
// substring of the text unless it contains doubled quotes.
func (r *Reader) quoted() (string, string) {
	q := r.s[r.pos]
	r.pos++
	start, seg := r.pos, r.pos
	var b []byte // only when a doubled quote had to be collapsed
	for r.pos < len(r.s) {
		c := r.s[r.pos]
		switch {
		case c == q && r.pos+1 < len(r.s) && r.s[r.pos+1] == q:
			b = append(b, r.s[seg:r.pos+1]...)
			r.pos += 2
			seg = r.pos
			continue
		case c == q:
			end := r.pos
			r.pos++
			if b == nil {
				return r.s[start:end], ""
			}
			return string(append(b, r.s[seg:end]...)), ""
		case c == '\n' || c == '\r':
			if q == '\'' {
				return "", "Unterminated quoted field"
			}
			if c == '\n' || r.pos+1 >= len(r.s) || r.s[r.pos+1] != '\n' {
				r.line++
			}
		}
		r.pos++
	}
	return "", "Unterminated quoted field"
}

func (r *Reader) skipBlanks() {
	for r.pos < len(r.s) && (r.s[r.pos] == ' ' || r.s[r.pos] == '\t') {
		r.pos++
	}
}

// eol consumes one line ending (LF, CRLF or CR) if r.pos is at one.
func (r *Reader) eol() {
	if r.pos >= len(r.s) {
		return
	}
	switch r.s[r.pos] {
	case '\r':
		r.pos++
		if r.pos < len(r.s) && r.s[r.pos] == '\n' {
			r.pos++
		}
	case '\n':
		r.pos++
	default:
		return
	}
	r.line++
}

// skipLine moves past the end of the current line.
func (r *Reader) skipLine() {
	for r.pos < len(r.s) && r.s[r.pos] != '\n' && r.s[r.pos] != '\r' {
		r.pos++
	}
	r.eol()
}

// skipBlankLines moves past lines holding only spaces and tabs.
func (r *Reader) skipBlankLines() {
	for r.pos < len(r.s) {
		j := r.pos
		for j < len(r.s) && (r.s[j] == ' ' || r.s[j] == '\t') {
			j++
		}
		if j < len(r.s) && r.s[j] != '\n' && r.s[j] != '\r' {
			return
		}
		r.pos = j
		if j >= len(r.s) {
			return
		}
		r.eol()
	}
}
